"""``lrface serve`` as a real server process on a free port, over HTTP: health, token, galleries,
enrolment of two people, identification of another photo by name, a stranger not named, verify,
detect, bad uploads and a 200 MB upload refused with one JSON error."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lrface.service.client import Client

TOKEN = "s3cret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    port = _free_port()
    root = tmp_path_factory.mktemp("serve")
    proc = subprocess.Popen([sys.executable, "-m", "lrface", "serve", "--port", str(port), "--galleries",
                             str(root / "galleries"), "--token", TOKEN, "--max-upload-mb", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ})
    client = Client(f"http://127.0.0.1:{port}", TOKEN)
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if client.get("/health")[0] == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise AssertionError(proc.stdout.read().decode()[-3000:])
    yield client, port
    proc.terminate()
    proc.wait(timeout=30)


def test_health_token_and_openapi(server) -> None:
    client, port = server
    code, body = client.get("/health")
    assert code == 200 and body["status"] == "ok" and body["model"]
    assert Client(f"http://127.0.0.1:{port}").get("/galleries") == (401, {"error": pytest.approx(
        "missing or wrong token (Authorization: Bearer TOKEN)")})
    code, spec = client.get("/openapi.json")
    assert code == 200 and "/galleries/{gallery}/identify" in spec["paths"]


def test_enrol_two_people_and_identify(server, lfw_dir: Path) -> None:
    client, _ = server
    assert client.post("/galleries/people")[0] == 201
    assert client.post("/galleries/people")[0] == 400  # exists
    for person in ("Colin_Powell", "Tony_Blair"):
        files = [lfw_dir / person / f"{person}_000{i}.jpg" for i in (1, 2, 3)]
        code, rep = client.post(f"/galleries/people/identities/{person}", files={"images": files})
        assert code == 200 and rep["added"] == 3, rep
    code, ids = client.get("/galleries/people/identities")
    assert code == 200 and {i["name"] for i in ids} == {"Colin_Powell", "Tony_Blair"}
    for person in ("Colin_Powell", "Tony_Blair"):
        code, hits = client.post("/galleries/people/identify", files={"image": lfw_dir / person / f"{person}_0010.jpg"})
        assert code == 200 and hits[0]["identity"] == person, hits
        assert hits[0]["decision"] == "match" and hits[0]["matches"][0]["name"] == person
    code, hits = client.post("/galleries/people/identify", files={"image": lfw_dir / "George_W_Bush/George_W_Bush_0001.jpg"})
    assert code == 200 and hits[0]["identity"] is None, hits  # a stranger is not named
    code, rm = client.delete("/galleries/people/identities/Tony_Blair")
    assert code == 200 and rm["templates"] == 3
    assert client.get("/galleries/nope/identities")[0] == 404


def test_verify_detect_embed(server, lfw_dir: Path) -> None:
    client, _ = server
    a, b = lfw_dir / "Colin_Powell/Colin_Powell_0001.jpg", lfw_dir / "Colin_Powell/Colin_Powell_0004.jpg"
    code, v = client.post("/verify", files={"image_a": a, "image_b": b})
    assert code == 200 and v["decision"] == "same person" and len(v["faces"]) == 2
    code, d = client.post("/detect", files={"image": a})
    assert code == 200 and len(d["faces"]) >= 1 and d["faces"][0]["r"] > 50
    code, e = client.post("/embed", files={"image": a})
    assert code == 200 and len(e["embedding"]) == 128


def test_bad_uploads_are_one_json_error(server) -> None:
    client, port = server
    code, body = client.post("/detect", files={"image": b"this is not an image"})
    assert code == 400 and set(body) == {"error"}
    code, body = client.post("/verify", files={"image_a": b""})
    assert code == 422  # a missing field: FastAPI's validation error, as JSON
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # 200 MB announced: refused before reading
    conn.putrequest("POST", "/detect")
    conn.putheader("Authorization", f"Bearer {TOKEN}")
    conn.putheader("Content-Type", "multipart/form-data; boundary=x")
    conn.putheader("Content-Length", str(200 * 2**20))
    conn.endheaders()
    conn.send(b"\0" * 65536)
    resp = conn.getresponse()
    assert resp.status == 413 and "too large" in json.loads(resp.read())["error"]
    conn.close()


def test_scan_job_progress_tracks_and_naming(server, lfw_dir: Path, tmp_path: Path) -> None:
    """A video scanned as a job: progress, tracks with their best face, and a track named by a
    person (its template enrolled into the gallery under that name)."""
    from lrface.make.video import make_test_video

    client, _ = server
    truth = make_test_video(tmp_path, frames=10, people=2, data_root=str(lfw_dir.parents[1]))
    assert client.post("/galleries/scanned")[0] == 201
    code, job = client.post("/scans", files={"video": tmp_path / "video.avi"}, data={"gallery": "scanned"})
    assert code == 202, job
    deadline = time.time() + 300
    while time.time() < deadline:
        state = client.get(f"/scans/{job['id']}")[1]
        if state["status"] in ("done", "failed"):
            break
        time.sleep(1)
    assert state["status"] == "done", state
    assert state["frames_done"] == 10 and state["result"]["tracks"]
    track = state["result"]["tracks"][0]
    assert track["best_crop"].startswith("data:image/png;base64,") and track["identity"] is None  # empty gallery
    name = truth["people"][0]
    code, named = client.post(f"/scans/{job['id']}/tracks/{track['track']}", data={"name": name, "enrol": "true"})
    assert code == 200 and named["enrolled"] == 1, named
    assert client.get(f"/scans/{job['id']}")[1]["confirmed"] == {str(track["track"]): name}
    assert [i["name"] for i in client.get("/galleries/scanned/identities")[1]] == [name]
    assert client.get("/scans/nope")[0] == 404


def test_concurrent_enrolments_all_land(server, lfw_dir: Path) -> None:
    """8 clients enrolling at once (this used to crash the server: dlib's detectors are not thread-safe)."""
    from concurrent.futures import ThreadPoolExecutor

    client, _ = server
    assert client.post("/galleries/busy")[0] == 201
    people = ["Colin_Powell", "Tony_Blair", "George_W_Bush", "Gerhard_Schroeder", "Donald_Rumsfeld", "Jean_Chretien",
              "John_Ashcroft", "Junichiro_Koizumi"]
    with ThreadPoolExecutor(8) as ex:
        codes = list(ex.map(lambda p: client.post(f"/galleries/busy/identities/{p}",
                                                  files={"images": [lfw_dir / p / f"{p}_0001.jpg"]})[0], people))
    assert codes == [200] * 8
    assert {i["name"] for i in client.get("/galleries/busy/identities")[1]} == set(people)
