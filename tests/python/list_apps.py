#!/usr/bin/env python3
"""An independent client: Python grpcio stubs generated from proto/ list the seven apps
of the paper's Table 2 with every per-store rating, and check each one against the
paper's own text (datasets/paper/source/pan2023-toe.txt), cell for cell.

Usage: list_apps.py HOST:PORT   (needs grpcio and grpcio-tools)
"""
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAPER = ROOT / "datasets" / "paper" / "source" / "pan2023-toe.txt"
STORES = ["Huawei App Store", "VIVO App Store", "OPPO App Store", "iPhone store"]
CHANNELS = ["huawei-appgallery", "vivo-app-store", "oppo-app-store", "apple-app-store"]


def generate_stubs(out: pathlib.Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'proto'}", f"--python_out={out}",
         f"--grpc_python_out={out}", "govlens/data/v1/data_service.proto"],
        check=True,
    )
    for package in ["govlens", "govlens/data", "govlens/data/v1"]:
        (out / package / "__init__.py").touch()
    sys.path.insert(0, str(out))


def table_2_from_paper() -> dict:
    """Row label -> [cell per store] from the paper's Table 2 text."""
    lines = PAPER.read_text(encoding="utf-8").splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("Table 2:"))
    rows = {}
    for line in lines[:end][::-1]:
        cells = line.split("\t")
        if len(cells) < 7 or not cells[-1].endswith("points"):
            if rows:
                break
            continue
        rows[cells[1].strip()] = [c.strip() for c in cells[2:6]]
    return rows


def main() -> int:
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    with tempfile.TemporaryDirectory() as tmp:
        generate_stubs(pathlib.Path(tmp))
        import grpc
        from govlens.data.v1 import data_service_pb2 as pb
        from govlens.data.v1 import data_service_pb2_grpc as rpc

        stub = rpc.DataServiceStub(grpc.insecure_channel(address))
        apps = stub.ListPlatforms(pb.ListPlatformsRequest(
            kind=pb.PLATFORM_KIND_GOVERNMENT_APP, page_size=100)).platforms
        ratings, token = [], ""
        while True:
            page = stub.ListObservations(pb.ListObservationsRequest(
                metric=pb.METRIC_RATING, page_size=50, page_token=token))
            ratings.extend(page.observations)
            token = page.next_page_token
            if not token:
                break

    paper = table_2_from_paper()
    by_cell = {(o.platform_code, o.channel_code): o for o in ratings}
    failures = []
    print(f"{'app':34} " + " ".join(f"{s:>17}" for s in STORES))
    for app in apps:
        cells = [by_cell.get((app.code, ch)) for ch in CHANNELS]
        printed = [c.value_as_printed if c else "/" for c in cells]
        print(f"{app.name:34} " + " ".join(f"{p:>17}" for p in printed))
        row = next((c.source.row for c in cells if c), None)
        if row not in paper:
            failures.append(f"{app.code}: source row {row!r} is not a Table 2 row")
        elif paper[row] != printed:
            failures.append(f"{app.code}: service {printed} != paper {paper[row]}")
    if len(apps) != 7:
        failures.append(f"expected the 7 apps of Table 2, got {len(apps)}")
    for f in failures:
        print("MISMATCH:", f, file=sys.stderr)
    print(f"{len(apps)} apps, {len(ratings)} ratings: " + ("match the paper" if not failures else "MISMATCH"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
