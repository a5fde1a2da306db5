"""summary.md: the documents x statuses table, the errata and the claims that differ from expectation."""
from __future__ import annotations

from reports.table import count_table, erratum_rows


def render_markdown(rows, manifest, accuracy=None) -> str:
    """summary.md; ``accuracy``: the lines of the kernel-accuracy block (reports.accuracy.markdown_block), put
    after the count table; None: no block."""
    def cell(x):
        return str(x).replace("|", r"\|").replace("\n", " ")
    statuses, table = count_table(rows)
    L = ["# Verification summary", "",
         f"commit `{manifest['git_commit'] or 'unavailable'}`, seed {manifest['seed']}, samples "
         f"{manifest['samples']}, {manifest['claims']} claims, {len(manifest['differing'])} differing from "
         f"expectation" + ("" if manifest["parsed_share"] is None
                           else f", {100 * manifest['parsed_share']:.0f}% parsed (not transcribed)") + ".", "",
         "| document | " + " | ".join(statuses) + " | total | ≠ expect |",
         "|---|" + "---:|" * (len(statuses) + 2)]
    for doc, counts, total, differing in table:
        name = f"**{doc}**" if doc == "all" else f"`{doc}`"
        L.append(f"| {name} | " + " | ".join(str(counts.get(s, 0)) for s in statuses) + f" | {total} | {differing} |")
    if accuracy:
        L += ["", *accuracy]
    L += ["", "## Errata", ""]
    errata = erratum_rows(rows)
    L += [f"- `{r['id']}`: `{r['document']}` {cell(r['label'])}, line {r['line']}: {r['status']}"
          + ("" if r["status"] == r["expect"] else f" (expected {r['expect']})")
          + (f"; {cell(r['message'])}" if r["message"] else "") for r in errata] or ["None."]
    differing = [r for r in rows if r["status"] != r["expect"]]
    if differing:
        L += ["", "## Differing from expectation", ""]
        L += [f"- `{r['id']}`: {r['status']}, expected {r['expect']}" for r in differing]
    return "\n".join(L) + "\n"

