#!/usr/bin/env python3
"""Generates the GIMP plug-in's registration header from manifest.json (the single
description of the plug-in), so the C code never restates procedure names, menu paths,
parameters or defaults by hand.

  generate.py manifest.json OUT.h
"""
import json
import sys

TYPES = {"INT32": "GIMP_PDB_INT32", "FLOAT": "GIMP_PDB_FLOAT", "STRING": "GIMP_PDB_STRING",
         "IMAGE": "GIMP_PDB_IMAGE", "DRAWABLE": "GIMP_PDB_DRAWABLE"}


def c(s):
    return json.dumps(s)  # a valid C string literal for ASCII text


def header_version():
    """The one version, from csgis.h's CSGIS_VERSION_MAJOR/MINOR/PATCH."""
    import os
    import re
    h = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "CSGISCHeader", "include", "csgis.h")).read()
    return ".".join(re.search(rf"#define CSGIS_VERSION_{k} (\d+)", h).group(1) for k in ("MAJOR", "MINOR", "PATCH"))


def main():
    m = json.load(open(sys.argv[1]))
    g = m["gimp"]
    out = ["/* Generated from plugin-manifest/manifest.json by generate.py: do not edit. */",
           "#ifndef CSGIS_GIMP_REGISTRATION_H", "#define CSGIS_GIMP_REGISTRATION_H", "#include <libgimp/gimp.h>", ""]
    for k in ("procedure", "menu_path", "menu_label", "blurb", "help", "author", "copyright", "date", "image_types", "preview_model"):
        out.append(f"#define CSGIS_GIMP_{k.upper()} {c(g[k])}")
    out.append(f"#define CSGIS_PLUGIN_VERSION {c(header_version())}")
    out.append("")
    out.append("static const GimpParamDef csgis_gimp_params[] = {")
    for p in g["params"]:
        out.append(f"    {{{TYPES[p['type']]}, {c(p['name'])}, {c(p['description'])}}},")
    out.append("};")
    out.append(f"#define CSGIS_GIMP_NPARAMS {len(g['params'])}")
    for i, p in enumerate(g["params"]):
        name = p["name"].upper().replace("-", "_")
        out.append(f"#define CSGIS_PARAM_{name} {i}")
        if "default" in p:
            d = p["default"]
            out.append(f"#define CSGIS_DEFAULT_{name} {c(d) if isinstance(d, str) else d}")
        if "min" in p:
            out.append(f"#define CSGIS_MIN_{name} {p['min']}")
            out.append(f"#define CSGIS_MAX_{name} {p['max']}")
    out += ["", "#endif", ""]
    open(sys.argv[2], "w").write("\n".join(out))


if __name__ == "__main__":
    main()
