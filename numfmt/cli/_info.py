"""`numfmt formats`, `numfmt info` and `numfmt table`: what the formats are."""

from __future__ import annotations

import json

from ..block import get_block_format, list_block_formats
from ..presets import get_format, list_formats
from ..tables import code_rows, format_rows, info_rows
from ._common import emit, format_arg


def _cmd_formats(args) -> int:
    names = list_formats()
    rows = format_rows(names)
    if args.kind:
        rows = [r for r, n in zip(rows, names) if get_format(n).kind == args.kind]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    cols = ["name", "bits", "layout", "bias", "max", "smallest_normal", "smallest_subnormal", "inf", "nan",
            "other"]
    heads = {"smallest_normal": "min normal", "smallest_subnormal": "min subnormal"}
    emit(rows, cols, args, heads)
    if not args.kind:
        brows = []
        for n in list_block_formats():
            bf = get_block_format(n)
            brows.append({"block format": n, "element": bf.element.name, "scale": bf.scale.name,
                          "block size": bf.block_size, "scale rule": bf.scale_rule,
                          "tensor scale": bool(bf.tensor_scale)})
        if brows:
            print()
            emit(brows, list(brows[0]), args)
    return 0


def _cmd_info(args) -> int:
    f = format_arg(args.format)
    rows = info_rows(f)
    if args.json:
        print(json.dumps({r["property"]: r["value"] for r in rows}, indent=1))
        return 0
    emit(rows, ["property", "value"], args)
    return 0


def _cmd_table(args) -> int:
    f = format_arg(args.format)
    rows = code_rows(f)
    emit(rows, ["code", "fields", "value", "class"], args)
    return 0
