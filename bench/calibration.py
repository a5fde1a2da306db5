"""The full calibration study of the Monte Carlo check: 200 seeds per true case, 50 per wrong case, at the
check's own sample size and step count (checks/calibration.py). Writes bench/out/calibration.csv."""
from __future__ import annotations

from checks.calibration import cases, study

from .common import write_csv


def main(true_seeds: int = 200, wrong_seeds: int = 50) -> list[dict]:
    rows = [study(case, range(1000, 1000 + (true_seeds if case.truth else wrong_seeds))) for case in cases()]
    write_csv("calibration", rows)
    return rows


if __name__ == "__main__":
    for row in main():
        print(row)
