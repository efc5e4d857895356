#!/usr/bin/env python3
"""Validates a FHIR Bundle (JSON on stdin) with Python's fhir.resources, an
implementation independent of the server's, for tests/it/export.rs.

fhir.resources' current releases carry R4B models (`fhir.resources.R4B`),
which validate R4 Bundles of the resource types an export holds. The Bundle
is validated whole (each entry's resource by its own model), and every
resource once more on its own, so that a failure names the resource.
Output: `ok N` (the number of resources). Exit 1 on a validation error,
3 when fhir.resources is not installed.
"""

import json
import sys

try:
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        f"fhir.resources is not importable ({e}): "
        "python3 -m pip install --user fhir.resources==8.3.0\n"
    )
    sys.exit(3)

text = sys.stdin.read()
data = json.loads(text)
try:
    Bundle.model_validate(data)
    for i, entry in enumerate(data.get("entry", [])):
        resource = entry["resource"]
        kind = resource["resourceType"]
        try:
            get_fhir_model_class(kind).model_validate(resource)
        except Exception as e:  # report which resource failed
            sys.stderr.write(f"entry {i} ({kind}): {e}\n")
            sys.exit(1)
except Exception as e:
    sys.stderr.write(f"Bundle: {e}\n")
    sys.exit(1)
print(f"ok {len(data.get('entry', []))}")
