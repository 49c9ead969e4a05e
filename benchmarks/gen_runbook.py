"""Generate large valid runbooks (no warnings) for the validation benchmarks.

Shapes: `chain` (each step depends on the previous one and reads its output)
and `fan` (one root, N-2 parallel steps reading it, one final step after all).
Run: .venv/bin/python -m benchmarks.gen_runbook N SHAPE > file.yaml
"""

from __future__ import annotations

import sys


def runbook_text(n: int, shape: str) -> str:
    """`n` steps in block-style YAML, as people write them: mostly shell, some waits."""
    out = [
        f"id: generated-{shape}-{n}",
        f"name: Generated {shape} of {n} steps",
        'version: "1"',
        "owner: benchmarks",
        "steps:",
    ]
    for i in range(n):
        if shape == "chain":
            parents = [f"s{i - 1}"] if i else []
        elif i == 0:
            parents = []
        else:
            parents = ["s0"] if i < n - 1 else [f"s{j}" for j in range(1, n - 1)]
        reads = parents[:1] if shape == "chain" or i < n - 1 else []
        has_output = shape == "chain" or i == 0
        out += [f"  - id: s{i}", f"    description: Generated step {i}"]
        if i % 10 == 9 and not has_output:
            out += ["    type: wait", "    inputs: {seconds: 0}"]
        else:
            args = ", ".join([f'"step {i}"', *(f'"${{steps.{p}.outputs.value}}"' for p in reads)])
            out += [
                "    type: shell",
                "    inputs:",
                "      command: echo",
                f"      args: [{args}]",
            ]
            if has_output:
                out += ["    outputs:", '      value: "$.stdout"']
        if parents:
            out.append(f"    depends_on: [{', '.join(parents)}]")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(runbook_text(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "chain"))
