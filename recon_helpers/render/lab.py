"""``recon lab``: JupyterLab on the notebooks, with copies preset to a month.

The copies go to ``notebooks/lab/<period>/`` (rewritten on each run); papermill's prepare-only
mode adds an ``injected-parameters`` cell holding the month, workspace and clients.

Example:
    >>> command = prepare_lab(ws, october, (), port=8888, no_browser=True)
    >>> subprocess.call(command)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.render.notebook import (
    KERNEL,
    NOTEBOOKS_DIR,
    check_parameters,
    notebook_paths,
    parameters_for,
)


def lab_command(period: Period, *, port: int | None = None, no_browser: bool = False
                ) -> list[str]:
    """The JupyterLab command line opening the month's preset copy of the first notebook."""
    first = f"lab/{period}/{notebook_paths()[0].name}"
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={NOTEBOOKS_DIR}",
           f"--LabApp.default_url=/lab/tree/{first}"]
    cmd += ["--no-browser"] if no_browser else []
    cmd += [f"--port={port}"] if port else []
    cmd += ["--allow-root"] if os.name == "posix" and os.geteuid() == 0 else []  # containers
    return cmd


def preset_notebooks(workspace: Workspace, period: Period, client_ids: Sequence[str] = ()
                     ) -> str:
    """Write copies of the notebooks preset to the month into ``notebooks/lab/<period>/``.

    Returns:
        The folder written.

    Raises:
        UsageError: a notebook does not declare the parameters.
    """
    import papermill as pm

    parameters = parameters_for(workspace, period, client_ids)
    folder = NOTEBOOKS_DIR / "lab" / str(period)
    folder.mkdir(parents=True, exist_ok=True)
    for nb in notebook_paths():
        check_parameters(nb, parameters)
        pm.execute_notebook(str(nb), str(folder / nb.name), parameters=parameters,
                            prepare_only=True, kernel_name=KERNEL, progress_bar=False)
    return str(folder)
