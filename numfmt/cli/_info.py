"""`numfmt formats`, `numfmt info` and `numfmt table`: what the formats are."""

from __future__ import annotations

import json

from ._common import _emit, _fmt


def _cmd_formats(args) -> int:
    from ..presets import list_formats
    from ..tables import format_rows

    names = list_formats()
    rows = format_rows(names)
    if args.kind:
        from ..presets import get_format

        rows = [r for r, n in zip(rows, names) if get_format(n).kind == args.kind]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    cols = ["name", "bits", "layout", "bias", "max", "smallest_normal", "smallest_subnormal", "inf", "nan",
            "other"]
    heads = {"smallest_normal": "min normal", "smallest_subnormal": "min subnormal"}
    _emit(rows, cols, args, heads)
    try:
        from .. import block
    except ImportError:  # pragma: no cover
        return 0
    lister = getattr(block, "list_block_formats", None)
    if lister is not None and not args.kind:
        brows = []
        for n in lister():
            bf = block.get_block_format(n)
            brows.append({"block format": n, "element": bf.element.name, "scale": bf.scale.name,
                          "block size": bf.block_size, "scale rule": bf.scale_rule,
                          "tensor scale": bool(bf.tensor_scale)})
        if brows:
            print()
            _emit(brows, list(brows[0]), args)
    return 0


def _cmd_info(args) -> int:
    from ..tables import info_rows

    f = _fmt(args.format)
    rows = info_rows(f)
    if args.json:
        print(json.dumps({r["property"]: r["value"] for r in rows}, indent=1))
        return 0
    _emit(rows, ["property", "value"], args)
    return 0


def _cmd_table(args) -> int:
    from ..tables import code_rows

    f = _fmt(args.format)
    rows = code_rows(f)
    _emit(rows, ["code", "fields", "value", "class"], args)
    return 0
