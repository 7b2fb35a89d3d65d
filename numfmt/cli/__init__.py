"""The `numfmt` command (also `python -m numfmt`).

Subcommands::

    numfmt formats                      every preset: bits, bias, range, inf/NaN conventions
    numfmt info FMT                     one format's properties
    numfmt table FMT                    every code: hex, fields, value, class
    numfmt encode FMT VALUE...          values -> codes (policy flags)
    numfmt decode FMT CODE...           codes -> values
    numfmt explain FMT VALUE...         why each value rounds where it does (policy flags)
    numfmt check --format FMT --input X --output Y [--scales S]
                                        emulate X, compare with the codes in Y, report
                                        (block formats: scale and element codes)
    numfmt identify --format FMT --input X --output Y
    numfmt identify --a A --b B --output D
                                        find the rule (conversion, block format, GEMM model)
    numfmt check-gemm --a A --b B --output D --model MODEL
                                        a GEMM dump against a model, relative error vs Exact
    numfmt bench                        the benchmark (numfmt.bench); --cold: first-call times
    numfmt warmup [--all | VERB...]     compile and cache the kernels ahead of time (numfmt.warmup)

Tables are aligned text; `--json` prints data instead. Exit status: 0 on
success (`check`, `check-gemm`: every code matched; `identify`: a rule reproduces every
element), 1 on mismatches (no rule reproduces everything), 2 on bad usage or bad input, with
one line on stderr and no traceback. Code dumps written as signed integers (int8, int16) are
read as the unsigned codes of the same width.
"""

from __future__ import annotations

import argparse
import os
import sys
import zipfile

from .. import __version__
from ..bench import main as bench_main
from ..block import NONFINITE, RECIPES, SCALE_RULES
from ._check import _cmd_check
from ._codes import _cmd_decode, _cmd_encode
from ._common import UsageError, _Parser, choice
from ._explain import _cmd_explain
from ._identify import cmd_check_gemm, cmd_identify
from ._info import _cmd_formats, _cmd_info, _cmd_table
from ._warmup import add_warmup

__all__ = ["main"]


def _policy_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("conversion policy (as numfmt.encode)")
    g.add_argument("--rounding", default="nearest_even",
                   help="nearest_even (default), nearest_away, nearest_toward_zero, toward_zero, toward_positive, "
                        "toward_negative, to_odd, stochastic, stochastic_b, stochastic_c, stochastic_odd "
                        "(aliases rne, rna, rnz, rtz, rtp, rtn, rto, sr)")
    g.add_argument("--saturation", default=None, help="none (default), finite or propagate")
    g.add_argument("--nan", default=None, help="NaN input into a format without NaN: raise (default), zero, max")
    g.add_argument("--compat", default=None,
                   help="reproduce a library: ml_dtypes, torch or ptx (the newest version numfmt knows), "
                        "or a pinned one: ml_dtypes==0.6")
    g.add_argument("--rbits", type=int, default=None, help="number of random bits for stochastic rounding")
    g.add_argument("--seed", type=int, default=None, help="seed of the random bits (stochastic rounding)")
    g.add_argument("--via", default=None, metavar="FMT", help="round through this float format first (double rounding)")
    g.add_argument("--daz", action="store_true", help="input subnormals (of the input dtype) are zero")
    g.add_argument("--ftz", action="store_true", help="subnormal results are flushed to zero")


def _dump_flags(p: argparse.ArgumentParser, *, conversion: bool) -> None:
    if conversion:
        p.add_argument("--format", default=None, metavar="FMT", help="format of the codes (element or block format)")
        p.add_argument("--input", default=None, metavar="X", help="inputs: .npy, .npz or raw (--dtype)")
        p.add_argument("--output-dtype", default=None, help="dtype of a raw code file (default: the format's)")
    p.add_argument("--a", default=None, metavar="A", help="GEMM: the M x K operand (.npy, .npz or raw)")
    p.add_argument("--b", default=None, metavar="B", help="GEMM: the K x N operand")
    p.add_argument("--c", default=None, metavar="C", help="GEMM: the addend (M x N), if any")
    p.add_argument("--output", required=not conversion, default=None, metavar="Y",
                   help="the dump: codes of a conversion or the GEMM's output")
    p.add_argument("--dtype", default=None, help="dtype of raw input files (float32, <f2, bfloat16 ...)")
    p.add_argument("--shape", default=None, help="shape of raw files: the input's (e.g. 128,64), or M,K,N of a GEMM")
    p.add_argument("--json", action="store_true", help="print JSON")


def _format_command(sub, name, func, help, description, fmt_help=None) -> argparse.ArgumentParser:
    """A subcommand whose first argument is a format (FMT), with --json."""
    p = sub.add_parser(name, help=help, description=description)
    p.add_argument("format", metavar="FMT", help=fmt_help)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=func)
    return p


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the `numfmt` command."""

    ap = _Parser(prog="numfmt", description="Bit-exact low-precision number formats: inspect formats, "
                 "encode/decode values, explain roundings and check hardware output.")
    ap.add_argument("--version", action="version", version=f"numfmt {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("formats", help="list every preset format", description="List every preset format with "
                       "its width, bias, range and inf/NaN conventions (and the block formats).")
    p.add_argument("--kind", type=choice("kind", ("float", "int")), metavar="{float,int}",
                   help="only float or only integer formats")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_formats)

    _format_command(sub, "info", _cmd_info, "properties of one format", "Properties of one format.",
                    fmt_help="format name (e.g. e4m3, float8_e5m2, binary8p3se, int4)")
    _format_command(sub, "table", _cmd_table, "every code of a format", "Every code of a format (at most 16 bits): "
                    "hex, sign|exponent|mantissa fields, value, class.")

    p = sub.add_parser("encode", help="values -> codes", description="Encode values into codes. Values are "
                       "decimal, hex floats (0x1.8p3), inf or nan, parsed into --dtype first.")
    p.add_argument("format", metavar="FMT")
    p.add_argument("values", metavar="VALUE", nargs="+")
    p.add_argument("--dtype", default="float64", help="input dtype the values are parsed into (default float64)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _policy_flags(p)
    p.set_defaults(func=_cmd_encode)

    p = _format_command(sub, "decode", _cmd_decode, "codes -> values", "Decode codes (0x7e, 126, 0b01111110).")
    p.add_argument("codes", metavar="CODE", nargs="+")

    p = sub.add_parser("explain", help="why a value rounds where it does", description="Explain the encoding "
                       "of one value: neighbours, position in ulps, guard/round/sticky, tie, rule, overflow.")
    p.add_argument("format", metavar="FMT")
    p.add_argument("value", metavar="VALUE", nargs="+", help="one or more values")
    p.add_argument("--dtype", default="float64", help="input dtype the value is parsed into (default float64)")
    p.add_argument("--index", type=int, default=0, help="element index whose random bits a --seed selects")
    p.add_argument("--json", action="store_true", help="print JSON")
    _policy_flags(p)
    p.set_defaults(func=_cmd_explain)

    p = sub.add_parser("check", help="compare hardware output with the emulation",
                       description="Encode the inputs X with numfmt, compare with the codes Y, print a report. "
                       "Exit 0 when every code matches, 1 on mismatches, 2 on bad usage. Large files are "
                       "memory-mapped and processed in chunks. Block formats (MX, NVFP4) compare the scale "
                       "codes (--scales) and the element codes separately.")
    p.add_argument("--format", required=True, metavar="FMT",
                   help="format of the codes: an element format (e4m3 ...) or a block format (mxfp4, nvfp4 ...)")
    p.add_argument("--input", required=True, metavar="X", help="inputs: .npy, .npz or raw (needs --input-dtype)")
    p.add_argument("--output", required=True, metavar="Y", help="codes: .npy, .npz or raw bytes")
    p.add_argument("--input-dtype", default=None, help="dtype of a raw input file (float32, <f2, bfloat16 ...)")
    p.add_argument("--input-key", default=None, help="array name inside an .npz input")
    p.add_argument("--output-dtype", default=None,
                   help="dtype of a raw, unpacked output file (default: the format's code dtype, little-endian)")
    p.add_argument("--output-key", default=None, help="array name inside an .npz output")
    p.add_argument("--packed", action="store_true", help="output holds sub-byte codes packed into bytes")
    p.add_argument("--order", default="low_first", type=choice("order", ("low_first", "high_first", "ptx", "low",
                                                                          "high")),
                   help="packed layout (numfmt.pack): low_first (default: first code in the low bits), "
                        "high_first, or ptx (6-bit e2m3x2/e3m2x2 registers)")
    p.add_argument("--max-examples", type=int, default=10, help="mismatches to list (default 10)")
    p.add_argument("--chunk-size", type=int, default=1 << 22,
                   help="elements per chunk (default 4194304; element formats only)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it only shows on a terminal)")
    p.add_argument("--no-explain", action="store_true", help="do not explain the first mismatch")
    p.add_argument("--mismatches", default=None, metavar="FILE.npy",
                   help="write the N-d index of every mismatch (element formats): an int64 array, one row per "
                        "mismatch (np.argwhere of the mismatch mask)")
    p.add_argument("--identify", action="store_true",
                   help="on mismatches, also search for the rule that explains the output (numfmt.identify)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _policy_flags(p)

    g = p.add_argument_group("block formats (mxfp4, mxfp8_e4m3, mxfp6_e2m3, mxint8, nvfp4 ...)",
                             "Y holds the element codes (or --packed bytes), the scale codes come from --scales "
                             "or from the 'scales' array of an .npz Y (element codes in its 'codes' array); an "
                             "NVFP4 tensor scale in its 'tensor_scale' array is compared too. The expected codes "
                             "are numfmt.encode(x, FMT, axis=, scale_rule=, recipe=, rounding=, random=--seed, "
                             "rbits=, tensor_scale=, tensor_amax=, nonfinite=, scale_rounding=); --saturation, "
                             "--nan and --compat do not apply. The whole input is encoded at once.")
    g.add_argument("--scales", default=None, metavar="S", help="scale codes: .npy, .npz or raw (one code per block, "
                   "row-major in the shape of x with --axis reduced to ceil(n / block size))")
    g.add_argument("--scales-key", default=None, help="array name of the scale codes inside an .npz (default scales)")
    g.add_argument("--scales-dtype", default=None,
                   help="dtype of a raw scales file (default: the scale format's code dtype, uint8)")
    g.add_argument("--axis", type=int, default=None, help="axis along which blocks run (default -1)")
    g.add_argument("--shape", default=None, help="shape of the input, e.g. 128,64 (raw inputs are 1-D; element "
                   "formats too)")
    g.add_argument("--scale-rule", default=None, type=choice("scale_rule", SCALE_RULES), metavar="RULE",
                   help="scale rule (default: the format's: floor for MX, amax for NVFP4)")
    g.add_argument("--recipe", default=None, type=choice("recipe", RECIPES), metavar="RECIPE",
                   help="ocp or torchao (power-of-two rules); te, torchao or modelopt (amax); p3109")
    g.add_argument("--tensor-scale", default=None, metavar="T",
                   help="NVFP4: a float32 decode tensor scale to encode with, or 'off' for one level "
                        "(default: computed from the tensor's amax)")
    g.add_argument("--tensor-amax", default=None, metavar="A", help="NVFP4: calibrated tensor amax")
    g.add_argument("--nonfinite", default=None, type=choice("nonfinite", NONFINITE), metavar="{amax,nan,finite}",
                   help="blocks with inf/NaN (default amax)")
    g.add_argument("--scale-rounding", default=None, help="scale rounding of scale rule max_abs_finite")
    g.add_argument("--output-tensor-scale", default=None, metavar="T",
                   help="the tensor scale the hardware used or produced (instead of an .npz 'tensor_scale')")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("identify", help="find the rule a converter or a GEMM used",
                       description="Search the documented space of rules (numfmt.identify) for the one that turns "
                       "the inputs into the output: conversions (--format, --input, --output; block formats: an "
                       ".npz output with 'scales' and 'codes') or GEMMs (--a, --b, [--c], --output). Exit 0 when a "
                       "rule reproduces every element, 1 otherwise, 2 on bad usage.")
    _dump_flags(p, conversion=True)
    p.add_argument("--gemm", action="store_true", help="the dump is a GEMM output (implied by --a/--b)")
    p.add_argument("--max-results", type=int, default=5, help="results to list (default 5)")
    p.set_defaults(func=cmd_identify)

    p = sub.add_parser("check-gemm", help="compare a GEMM dump with an accumulation model",
                       description="Compute c + A @ B under --model, compare bit for bit with the output D, and "
                       "report the relative error of both against the exact result. Exit 0 when every element "
                       "matches, 1 on mismatches, 2 on bad usage.")
    _dump_flags(p, conversion=False)
    p.add_argument("--model", required=True, help="a preset gpu/format (h100/e4m3 ...), exact[:OUT[:ROUNDING]] or "
                   "sequential:ACC[:ROUNDING]")
    p.add_argument("--max-examples", type=int, default=10, help="mismatches to list (default 10)")
    p.set_defaults(func=cmd_check_gemm)

    add_warmup(sub)
    sub.add_parser("bench", help="run the benchmark (numfmt bench --help)", add_help=False)
    return ap


def _one_line(msg: str) -> str:
    return " ".join(str(msg).split())


def main(argv: list[str] | None = None) -> int:
    """Run the `numfmt` command; returns the exit status.

    Examples
    --------
    >>> from numfmt.cli import main
    >>> main(["encode", "e4m3", "1.0625", "464", "500", "--saturation", "finite"])
    input   code  fields      value
    1.0625  0x38  0|0111|000  1.0
    464     0x7e  0|1111|110  448.0
    500     0x7e  0|1111|110  448.0
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "bench":
            return int(bench_main(argv[1:]) or 0)
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UsageError as e:
        msg = str(e)
        print(_one_line(msg if msg.startswith("numfmt") else f"numfmt: error: {msg}"), file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. `numfmt table binary16 | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except (ValueError, TypeError, OSError, OverflowError, KeyError, EOFError, zipfile.BadZipFile) as e:
        msg = str(e)
        for kw, flag in (("random=", "--seed N"), ("nan='zero'", "--nan zero"), ("rbits", "--rbits N"),
                         ("recipe=", "--recipe"), ("scale_rule=", "--scale-rule"),
                         ("tensor_scale", "--tensor-scale / --tensor-amax"), ("scale_rounding", "--scale-rounding")):
            if kw in msg:
                msg += f" [command line: {flag}]"
                break
        print(_one_line(f"numfmt: error: {msg}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("numfmt: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # pragma: no cover - a bug: still one line unless asked for the traceback
        if os.environ.get("NUMFMT_DEBUG"):
            raise
        print(_one_line(f"numfmt: internal error: {type(e).__name__}: {e} (set NUMFMT_DEBUG=1 for a traceback)"),
              file=sys.stderr)
        return 2
