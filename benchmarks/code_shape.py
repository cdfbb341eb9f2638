"""`python -m benchmarks.code_shape [CHECKOUT]`: the shape of the web code as issue 21 measures it — function sizes
(lines from ``def`` to the last line, every function and method outside the engine: median, p90, max), functions
over 50 lines, modules of `matchmaker/` over 400 lines, and imports inside functions outside the engine."""
from __future__ import annotations

import ast
import statistics
import sys
from pathlib import Path

LONG_FUNCTION, LONG_MODULE = 50, 400


def _functions(tree: ast.AST):
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


def shape(root: Path) -> dict:
    sizes, long_functions, long_modules, inner_imports = [], [], [], 0
    for path in sorted((root / "matchmaker").rglob("*.py")):
        text = path.read_text()
        lines = len(text.splitlines())
        if lines > LONG_MODULE:
            long_modules.append((str(path.relative_to(root)), lines))
        if "engine" in path.relative_to(root).parts:
            continue
        for function in _functions(ast.parse(text)):
            size = function.end_lineno - function.lineno + 1
            sizes.append(size)
            if size > LONG_FUNCTION:
                long_functions.append((size, f"{path.relative_to(root)}:{function.lineno} {function.name}"))
            inner_imports += sum(isinstance(node, ast.Import | ast.ImportFrom) for node in ast.walk(function))
    sizes.sort()
    return {"functions": len(sizes), "median": statistics.median(sizes), "p90": sizes[int(0.9 * (len(sizes) - 1))],
            "max": sizes[-1], "long functions": sorted(long_functions, reverse=True), "long modules": long_modules,
            "imports inside functions": inner_imports}


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else Path(__file__).resolve().parents[1])
    found = shape(root)
    print(f"{root}: {found['functions']} functions outside the engine, lines median {found['median']}, "
          f"p90 {found['p90']}, max {found['max']}")
    print(f"over {LONG_FUNCTION} lines: {found['long functions'] or 'none'}")
    print(f"modules over {LONG_MODULE} lines: {found['long modules'] or 'none'}")
    print(f"imports inside functions: {found['imports inside functions']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
