"""The program report: where capacity binds, computed from the schedule without the solver."""

from __future__ import annotations

from programs import block, clinician, patient, program_dict, solve_checked


def test_report_names_full_groups_idle_capacity_and_demand():
    blocks = [block("full", "mon", "18:00", "21:00", room="r1", max_size=1),
              block("never", "tue", "18:00", "21:00", room="r1", min_size=3)]
    data = program_dict(blocks=blocks, patients=[patient("P1"), patient("P2")],
                        clinicians=[clinician("c1", max_weekly_hours=3)], rules={"min_weekly_hours": 3})
    report = solve_checked(data).report()
    assert list(report["full_groups"]["block"]) == ["full"]
    assert report["full_groups"]["unplaced_who_could_come"].tolist() == [1]
    not_opened = report["groups_not_opened"].set_index("block")
    assert not_opened.loc["never", "could_come"] == 2 and not_opened.loc["never", "min_size"] == 3
    hours = report["clinician_hours"].set_index("clinician")
    assert hours.loc["c1", "hours"] == 3 and hours.loc["c1", "share_of_cap"] == 1
    demand = report["unplaced_demand"]
    assert set(zip(demand["day"], demand["start"])) == {("mon", "18:00"), ("tue", "18:00")}
