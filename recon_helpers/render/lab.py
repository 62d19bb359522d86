"""``recon lab``: JupyterLab on the project's notebooks, opened on the resolution notebook.

The notebooks are the project's (``--notebooks DIR``; else ``notebooks/`` of the current
folder, else ``notebooks/`` beside the workspace, else the ones shipped with the package), so an
installed package never points JupyterLab into site-packages while the project has its own.
Copies preset to the month go to ``<notebooks>/lab/<period>/`` (rewritten on each run):
papermill's prepare-only mode adds an ``injected-parameters`` cell holding the workspace, the
month and the clients; JupyterLab opens the copy of ``03_resolution.ipynb``.

Example:
    >>> folder = lab_notebooks(ws)
    >>> command = lab_command(october, folder, port=8888, no_browser=True)
    >>> subprocess.call(command)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from recon_helpers.core.errors import UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.render.notebook import (
    KERNEL,
    NOTEBOOKS_DIR,
    check_parameters,
    notebook_paths,
    parameters_for,
)

OPENS = "03_resolution.ipynb"  # the notebook an auditor works in


def _has_notebooks(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("[0-9][0-9]_*.ipynb"))


def lab_notebooks(workspace: Workspace, explicit: str | Path | None = None) -> Path:
    """The project's notebooks folder (see the module docstring).

    Raises:
        UsageError: ``explicit`` holds no numbered notebooks.
    """
    if explicit is not None:
        folder = Path(explicit).resolve()
        if not _has_notebooks(folder):
            raise UsageError(f"--notebooks {explicit}: no numbered notebooks (NN_*.ipynb) there")
        return folder
    for folder in (Path.cwd() / "notebooks", workspace.root.resolve().parent / "notebooks"):
        if _has_notebooks(folder):
            return folder.resolve()
    return NOTEBOOKS_DIR


def lab_command(period: Period, folder: Path | None = None, *, port: int | None = None,
                no_browser: bool = False) -> list[str]:
    """The JupyterLab command line opening the month's preset copy of notebook 03."""
    folder = folder or NOTEBOOKS_DIR
    names = [p.name for p in notebook_paths(folder)]
    first = OPENS if OPENS in names else names[0]
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}",
           f"--LabApp.default_url=/lab/tree/lab/{period}/{first}"]
    cmd += ["--no-browser"] if no_browser else []
    cmd += [f"--port={port}"] if port else []
    cmd += ["--allow-root"] if os.name == "posix" and os.geteuid() == 0 else []  # containers
    return cmd


def preset_notebooks(workspace: Workspace, period: Period, client_ids: Sequence[str] = (),
                     folder: Path | None = None) -> str:
    """Write copies of the notebooks preset to the month into ``<folder>/lab/<period>/``.

    Returns:
        The folder written.

    Raises:
        UsageError: a notebook does not declare the parameters.
    """
    import papermill as pm

    folder = folder or NOTEBOOKS_DIR
    parameters = parameters_for(workspace, period, client_ids)
    out = folder / "lab" / str(period)
    out.mkdir(parents=True, exist_ok=True)
    for nb in notebook_paths(folder):
        check_parameters(nb, parameters)
        pm.execute_notebook(str(nb), str(out / nb.name), parameters=parameters,
                            prepare_only=True, kernel_name=KERNEL, progress_bar=False)
    return str(out)
