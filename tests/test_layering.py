"""The architecture as imports: the engine speaks no host's language, doors translate, batch and training
sit engine-side, and what a door and the batch job share lives below both (``focalxl.hosts``)."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"core": "focalxl", "backends/labelstudio": "focalxl.labelstudio", "serverless/cvat": "focalxl.cvat"}
HOST_LIBRARIES = {"label_studio_sdk", "cvat_sdk", "nuclio_sdk", "datumaro", "flask", "werkzeug"}
DOORS = ("focalxl.labelstudio", "focalxl.cvat")
ENGINE_SIDE_JOBS = ("focalxl.batch", "focalxl.train")
HOST_TALKING = ("focalxl.hosts", "focalxl.batch")     # the parts of core/ that talk to hosts


def _modules() -> Dict[str, Path]:
    modules = {}
    for folder, package in PACKAGES.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    return modules


def _imports(name: str, path: Path) -> Set[str]:
    """Every module ``name`` imports, at the top or inside functions, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


MODULES = _modules()
IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _under(name: str, packages) -> bool:
    return any(name == p or name.startswith(p + ".") for p in ((packages,) if isinstance(packages, str) else packages))


def test_the_layering_check_sees_every_package_and_resolves_relative_imports():
    assert {"focalxl.session", "focalxl.labelstudio.model", "focalxl.cvat", "focalxl.hosts.labelstudio.regions",
            "focalxl.batch.sources.labelstudio"} <= set(MODULES)
    assert "focalxl.hosts.labelstudio.regions" in IMPORTS["focalxl.batch.sources.labelstudio"]
    assert "focalxl.hosts.labelstudio.media" in IMPORTS["focalxl.labelstudio.model"]


def _offenders(modules, forbidden) -> Dict[str, list]:
    """``{module: [what it must not import]}`` for the given modules."""
    found = {name: sorted(i for i in IMPORTS[name] if forbidden(name, i)) for name in modules}
    return {name: imports for name, imports in found.items() if imports}


def test_the_engine_and_its_jobs_import_no_host_library():
    engine = [n for n in MODULES if not _under(n, DOORS) and not _under(n, HOST_TALKING)]
    assert _offenders(engine, lambda _, i: i.split(".")[0] in HOST_LIBRARIES) == {}


def test_nothing_in_core_imports_a_door():
    assert _offenders([n for n in MODULES if not _under(n, DOORS)], lambda _, i: _under(i, DOORS)) == {}


def test_a_door_imports_neither_batch_nor_training_nor_the_other_door():
    def forbidden(name: str, imported: str) -> bool:
        own = next(d for d in DOORS if _under(name, d))
        return _under(imported, ENGINE_SIDE_JOBS) or (_under(imported, DOORS) and not _under(imported, own))

    assert _offenders([n for n in MODULES if _under(n, DOORS)], forbidden) == {}


def test_the_shared_host_protocols_import_no_door_and_no_job():
    shared = [n for n in MODULES if _under(n, "focalxl.hosts")]
    assert shared and _offenders(shared, lambda _, i: _under(i, DOORS + ENGINE_SIDE_JOBS)) == {}
