"""Assemble README.md from docs/sections/*.md (sorted by the order below).

Run ``python scripts/build_readme.py`` after editing a section.
"""

from __future__ import annotations

from pathlib import Path

ORDER = (
    "00_intro",
    "gradient_cam",
    "cam_variants",
    "relevance",
    "removal",
    "aosa_swagv",
    "extremal",
    "evaluation",
    "runs",
    "study",
    "viz",
    "models",
    "video",
    "benchmark",
    "layers",
    "90_development",
)


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    sections = root / "docs" / "sections"
    parts = []
    for name in ORDER:
        path = sections / f"{name}.md"
        if path.exists():
            parts.append(path.read_text().strip() + "\n")
    contents = "\n".join(parts)
    # Sections link figures relative to the repository root; keep them so.
    (root / "README.md").write_text(contents)
    print(f"README.md: {len(contents.splitlines())} lines from {len(parts)} sections")


if __name__ == "__main__":
    main()
