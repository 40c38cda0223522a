"""The example project at the repository root validates, and its segment tests pass."""
from segwarehouse import Project

from conftest import ROOT


def test_example_project_validates_and_its_tests_pass():
    project = Project(ROOT)
    assert len(project.validate().segments) >= 1
    results = project.test()
    assert results and all(r.passed for r in results), [(r.segment, r.name, r.error, r.actual) for r in results]
