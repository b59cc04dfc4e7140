"""Peak memory of reading data: the streaming data layer vs pandas reading the whole file, side by side.

Each measurement runs in its own process (peak RSS from getrusage). Cases: the largest shared file
(bias-madlibs, 76,564 rows) loaded into canonical records, and a synthetic 2-million-row CSV with a wide
column the data set does not keep, both streamed through the csv plugin (rows only) and loaded whole
through ``load()`` (canonical records, duplicates, splits: what every command pays).

Run: python benchmarks/data_memory.py [--data-dir ../shared/data] [--rows 2000000]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

PROBES = {
    "load_records": "from moderation.data import load; d = load({name!r}, {data_dir!r}); n = len(d.records)",
    "stream_rows": "from moderation.data import get_dataset; "
                   "n = sum(1 for _ in get_dataset({name!r}, {data_dir!r}).records())",
    "pandas_read_csv": "import pandas as pd; n = len(pd.read_csv({path!r}))",
}


def peak_mb(code: str) -> tuple[float, int]:
    script = (f"{code}\nimport resource, json\n"
              "print(json.dumps([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, n]))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    mb, rows = json.loads(out.stdout.strip().splitlines()[-1])
    return round(mb, 1), rows


def synthetic(path: Path, rows: int) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "toxicity", "notes"])
        writer.writerows([f"comment number {i}", i % 2, "n" * 200] for i in range(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    baselines = {"pandas_read_csv": peak_mb("import pandas; n = 0")[0]}
    baselines["load_records"] = baselines["stream_rows"] = peak_mb(
        "from moderation.plugins import get_registry; get_registry(); n = 0")[0]
    print(f"baselines (imports only): pandas {baselines['pandas_read_csv']} MB, "
          f"moderation with its plugins {baselines['stream_rows']} MB")
    madlibs = str(Path(args.data_dir) / "bias_madlibs" / "bias_madlibs_77k.csv")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.csv"
        synthetic(big, args.rows)
        cases = [
            ("bias-madlibs (3.4 MB)", "load_records", dict(name="bias-madlibs", data_dir=args.data_dir)),
            ("bias-madlibs (3.4 MB)", "pandas_read_csv", dict(path=madlibs)),
            (f"synthetic {args.rows:,} rows ({big.stat().st_size / 1e6:.0f} MB)", "stream_rows",
             dict(name=str(big), data_dir=None)),
            (f"synthetic {args.rows:,} rows ({big.stat().st_size / 1e6:.0f} MB)", "load_records",
             dict(name=str(big), data_dir=None)),
            (f"synthetic {args.rows:,} rows ({big.stat().st_size / 1e6:.0f} MB)", "pandas_read_csv",
             dict(path=str(big))),
        ]
        print(f"{'file':<36}{'reader':<18}{'rows':>10}{'peak MB':>10}{'over baseline':>15}")
        for label, probe, params in cases:
            mb, rows = peak_mb(PROBES[probe].format(**params))
            print(f"{label:<36}{probe:<18}{rows:>10,}{mb:>10}{mb - baselines[probe]:>15.1f}")


if __name__ == "__main__":
    main()
