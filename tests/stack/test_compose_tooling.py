"""The preparation `make test-compose` does before bringing the stack up (unimatch_stack.compose):
which base images the compose file needs, that each has a faithful stand-in for machines no
registry reaches, and that what is missing is explained rather than failed on."""

import subprocess

import pytest

from unimatch_stack import compose
from unimatch_stack.compose import NotReady, base_images, compose_major, dockerfile_bases


def test_the_base_images_are_those_of_the_compose_file_and_its_dockerfiles():
    assert set(base_images()) >= {"postgres:16", "python:3.11-slim", "caddy:2"}
    assert any(image.startswith("nats:2") for image in base_images())


def test_every_base_image_has_a_stand_in():
    """So `make test-compose` works where no registry answers; an image added to compose
    needs a recipe in tools/compose_standins/."""
    for image in base_images():
        recipe = compose.standin_for(image)
        assert (compose.RECIPES / recipe.folder / "Dockerfile").is_file()


def test_build_stages_are_not_base_images():
    dockerfile = """
    # FROM commented:out
    FROM python:3.11-slim AS wheels
    RUN pip wheel .
    FROM --platform=linux/amd64 caddy:2
    COPY --from=wheels /x /y
    FROM wheels
    """
    assert dockerfile_bases(dockerfile) == ["python:3.11-slim", "caddy:2"]


def test_a_stand_in_never_poses_as_another_version():
    assert compose.standin_for("python:3.11-slim").folder == "python"
    with pytest.raises(NotReady, match="which is not python:3.12-slim"):
        compose.standin_for("python:3.12-slim")
    with pytest.raises(NotReady, match="no stand-in recipe for it"):
        compose.standin_for("axllent/mailpit:latest")


@pytest.mark.parametrize(
    ("printed", "major"),
    [
        ("docker-compose version 1.29.2, build unknown", 1),
        ("Docker Compose version v2.27.0", 2),
        ("Docker Compose version 2.26.1-4", 2),
        ("docker: 'compose' is not a docker command.", None),
    ],
)
def test_compose_versions_are_told_apart(printed, major):
    assert compose_major(printed) == major


def finished(returncode: int, stdout: str = "", stderr: str = ""):
    return subprocess.CompletedProcess([], returncode, stdout, stderr)


def test_a_missing_docker_is_explained_with_the_install_command(monkeypatch):
    monkeypatch.setattr(compose.shutil, "which", lambda name, **_: None)
    with pytest.raises(NotReady, match=r"apt-get install -y docker\.io"):
        compose.check_engine()


def test_an_engine_that_does_not_answer_is_explained(monkeypatch):
    monkeypatch.setattr(compose.shutil, "which", lambda name, **_: f"/usr/bin/{name}")
    monkeypatch.setattr(
        compose, "run", lambda command, **_: finished(1, stderr="Cannot connect to the daemon")
    )
    with pytest.raises(NotReady, match="no Docker engine answers.*start it as root: dockerd"):
        compose.check_engine()


def test_an_installed_compose_v2_is_used_and_v1_passed_over(monkeypatch, tmp_path):
    versions = {
        ("docker", "compose"): finished(1, stderr="'compose' is not a docker command"),
        ("docker-compose",): finished(0, "docker-compose version 1.29.2, build unknown"),
        (str(tmp_path / "compose" / "docker-compose"),): finished(
            0, "Docker Compose version 2.26.1-4"
        ),
    }
    (tmp_path / "compose").mkdir()
    (tmp_path / "compose" / "docker-compose").touch()
    monkeypatch.setattr(compose.shutil, "which", lambda name, **_: f"/usr/bin/{name}")
    monkeypatch.setattr(compose, "run", lambda command, **_: versions[tuple(command[:-1])])
    monkeypatch.setattr(compose, "fetch_debian_compose", pytest.fail)
    assert compose.compose_command(tmp_path) == [str(tmp_path / "compose" / "docker-compose")]


def test_make_test_compose_says_why_it_cannot_run(monkeypatch, capsys):
    def no_engine():
        raise NotReady("no Docker engine answers")

    monkeypatch.setattr(compose, "check_engine", no_engine)
    assert compose.main() == 2
    assert "make test-compose cannot run here: no Docker engine answers" in capsys.readouterr().err
