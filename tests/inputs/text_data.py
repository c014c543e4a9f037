"""Generated texts (no downloads): short sentences from templates with topic words and noise,
four topics (and a multi-label variant where a sentence may mix topics)."""

import csv
from pathlib import Path

import numpy as np

TOPICS = {
    "finance": "stock market price bank shares investor profit trade rates inflation".split(),
    "politics": "election vote minister parliament policy law party campaign senate debate".split(),
    "sport": "match goal team coach league score player season win referee".split(),
    "weather": "rain storm forecast sunny wind cloud snow temperature humid cold".split(),
}
FILLER = "the a of in on today yesterday reports said new big small after before this that very".split()
TEMPLATES = (
    "{f} {t} {f} {t} {f}",
    "{t} {f} {f} {f} {t}",
    "{f} {f} {t} {f} {f} {f} {t}",
    "{f} {t} {f}",
)


def sentence(topics: list[str], rng: np.random.Generator) -> str:
    template = TEMPLATES[rng.integers(len(TEMPLATES))]
    words = []
    for part in template.split():
        if part == "{t}":
            words.append(rng.choice(TOPICS[topics[rng.integers(len(topics))]]))
        else:
            words.append(rng.choice(FILLER))
    if rng.random() < 0.15:  # noise: a word of any topic
        words.insert(rng.integers(len(words) + 1), rng.choice(TOPICS[rng.choice(list(TOPICS))]))
    return " ".join(words).capitalize() + "."


def topic_table(path: Path, n: int = 3000, seed: int = 0) -> Path:
    """A CSV of `n` rows: sentence, topic (one of four)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["sentence", "topic"])
        for _ in range(n):
            topic = rng.choice(list(TOPICS))
            writer.writerow([sentence([topic], rng), topic])
    return path


def multilabel_table(path: Path, n: int = 1500, seed: int = 0) -> Path:
    """A CSV of `n` rows: sentence, tags (one or two topics, '|'-separated)."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["sentence", "tags"])
        for _ in range(n):
            chosen = sorted(rng.choice(list(TOPICS), size=int(rng.integers(1, 3)), replace=False))
            text = " ".join(sentence([t], rng).rstrip(".") for t in chosen) + "."
            writer.writerow([text, "|".join(chosen)])
    return path


def text_folder(root: Path, per_class: int = 40, seed: int = 0) -> Path:
    """root/<topic>/<i>.txt, a sentence per file."""
    rng = np.random.default_rng(seed)
    for topic in TOPICS:
        (root / topic).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (root / topic / f"{i:03d}.txt").write_text(sentence([topic], rng) + "\n")
    return root
