"""iop_sched: weekly group schedules for addiction-treatment Intensive Outpatient Programs.

    problem = iop_sched.load_problem("program.json")
    schedule = iop_sched.solve(problem, time_limit=30)
    print(schedule.summary())
    schedule.write("out")          # schedule.json + calendars/, written atomically
"""

from .loading import ProblemError, load_problem, problem_from_data, problem_from_json
from .result import Schedule
from .schema import Problem
from .solve import solve

__version__ = "0.1.0"

__all__ = ["Problem", "ProblemError", "Schedule", "load_problem", "problem_from_data", "problem_from_json", "solve"]
