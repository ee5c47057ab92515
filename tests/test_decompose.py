"""Independent parts: found exactly where nothing links two sites, and solved apart without changing the answer."""

from __future__ import annotations

from iop_sched.constraints.availability import compute_eligibility
from iop_sched.decompose import independent_parts, part_problem
from programs import block, build, clinician, patient, program_dict, solve_checked, week, window

ROOMS = [{"id": "north-1", "site": "north", "capacity": 2}, {"id": "south-1", "site": "south", "capacity": 2}]


def two_sites(**changes) -> dict:
    """North and south each run Mon/Wed evenings for their own patients with their own clinician.

    North has one seat too few (three patients, two seats), so the number placed has something to decide.
    """
    blocks = [block(f"{site}-{day}", day, "18:00", "21:00", room=f"{site}-1") for site in ("north", "south")
              for day in ("mon", "wed")]
    patients = [patient(f"N{i}", sites=["north"]) for i in range(1, 4)] + \
               [patient(f"S{i}", sites=["south"]) for i in range(1, 3)]
    clinicians = [clinician("cn", sites=["north"]), clinician("cs", sites=["south"])]
    data = program_dict(blocks=blocks, patients=patients, clinicians=clinicians, rooms=ROOMS,
                        rules={"min_weekly_hours": 6})
    for key, value in changes.items():
        data[key] = value
    return data


def parts_of(data: dict) -> list[tuple[list[str], list[str]]]:
    problem = build(data)
    parts = independent_parts(problem, compute_eligibility(problem))
    return [([problem.patients[p].id for p in part.patients], [problem.blocks[b].id for b in part.blocks])
            for part in parts]


def test_sites_sharing_nothing_are_two_parts():
    assert parts_of(two_sites()) == [(["N1", "N2", "N3"], ["north-mon", "north-wed"]),
                                     (["S1", "S2"], ["south-mon", "south-wed"])]


def test_a_patient_of_both_sites_joins_them():
    data = two_sites()
    data["patients"].append(patient("X", sites=["north", "south"]))
    assert len(parts_of(data)) == 1


def test_a_clinician_of_both_sites_joins_them():
    data = two_sites()
    data["clinicians"].append(clinician("cx", sites=["north", "south"]))
    assert len(parts_of(data)) == 1


def test_blocks_overlapping_in_one_room_are_one_part():
    data = two_sites()
    # a peer group in north-1 on Monday 19:00, for T1 only (busy until 19:00), led by its own peer specialist:
    # it shares no patient or clinician with north's groups, but the room holds only one of them at a time
    data["blocks"].append(block("north-peer", "mon", "19:00", "21:00", room="north-1", credentials=["CPRS"],
                                audience=["peer-track"]))
    for b in data["blocks"][:4]:
        b["credentials"] = ["LADC"]
    data["clinicians"][0]["credentials"] = data["clinicians"][1]["credentials"] = ["LADC"]
    data["clinicians"].append(clinician("peer", sites=["north"], credentials=["CPRS"]))
    data["patients"].append(patient("T1", sites=["north"], min_weekly_hours=2, tags=["peer-track"],
                                    busy=[window("mon tue wed thu fri", "00:00", "19:00", reason="work")]))
    assert [ids for ids, _ in parts_of(data)] == [["N1", "N2", "N3", "T1"], ["S1", "S2"]]
    data["blocks"][-1]["start"], data["blocks"][-1]["end"] = "21:00", "23:00"  # after north's groups
    assert [ids for ids, _ in parts_of(data)] == [["N1", "N2", "N3"], ["S1", "S2"], ["T1"]]


def test_a_patient_who_can_reach_nothing_is_in_no_part():
    data = two_sites()
    data["patients"].append(patient("Z", busy=[window("mon tue wed thu fri sat sun", "00:00", "24:00", reason="work")]))
    assert all("Z" not in ids for ids, _ in parts_of(data))


def test_part_problem_keeps_every_clinician_and_room():
    problem = build(two_sites())
    part = independent_parts(problem, compute_eligibility(problem))[1]
    sub = part_problem(problem, part)
    assert [p.id for p in sub.patients] == ["S1", "S2"] and len(sub.clinicians) == 2 and len(sub.rooms) == 2


def test_solving_the_parts_apart_gives_the_whole_optimum_and_says_so():
    data = two_sites()
    apart = solve_checked(data, time_limit=10)
    whole = solve_checked(data, time_limit=10, decompose=False)
    assert apart.stats["placed"] == whole.stats["placed"] == 4  # north: two seats for three patients
    assert apart.stats["placed_bound"] == 4 and apart.stats["tiers"][0]["status"] == "optimal"
    described = apart.stats["parameters"]["independent_parts"]
    assert described["tiers_per_part"] == [1, 2] and [p["patients"] for p in described["parts"]] == [3, 2]
    assert "independent_parts" not in whole.stats["parameters"]
    assert week(apart, "S1").placed and week(apart, "S2").placed
    # the lower tiers agree too: the same wishes' cost, proven on both paths
    assert apart.stats["tiers"][1]["value"] == whole.stats["tiers"][1]["value"]


def test_progress_of_the_parts_counts_the_whole_program():
    events: list[dict] = []
    solve_checked(two_sites(), time_limit=10, progress=events.append)
    parts = [e for e in events if e.get("part") and e["tier"] == 1 and e["value"] is not None]
    assert parts and {e["part"] for e in parts} <= {"1/2", "2/2"}
    for event in parts:
        assert event["value"] <= event["bound"] and event["bound"] <= 5
    assert max(e["value"] for e in parts if e["part"] == "2/2") == 4


def test_no_split_with_pins_or_a_previous_schedule():
    data = two_sites()
    data["patients"][3]["pinned_blocks"] = ["south-mon"]
    pinned = solve_checked(data, time_limit=10)
    assert "independent_parts" not in pinned.stats["parameters"]
    again = solve_checked(two_sites(), time_limit=10, previous=pinned.to_dict())
    assert "independent_parts" not in again.stats["parameters"]


def test_parts_alone_when_only_patients_placed_is_asked():
    schedule = solve_checked(two_sites(), time_limit=10, tiers=(1,))
    assert schedule.stats["placed"] == 4 and [t["tier"] for t in schedule.stats["tiers"]] == [1]
    assert schedule.stats["tiers"][0]["status"] == "optimal"
