"""Artifact-aware text anchors: prompts that relate an object or scene to an artifact state.

Learned mode (ours, after the paper's idea): every prompt reads ``[SOT] ctx_1..ctx_m {object} s_k1..s_kn [EOT]``
with context tokens shared by all prompts and state tokens per state k in (clean, ghosting, flare, moire);
encoding all of them gives t[k, o]. Zero-shot mode: hand-written template ensembles (WinCLIP-style) give the
same t[k, o] without training. Per image, objects are weighted by the image's affinity to them, so the
anchors of image I are T_k(I) = sum_o w_o(I) t[k, o].
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import open_clip
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from ipad_iqa.output import LABELS

STATE_WORDS: dict[str, str] = {"clean": "clean", "ghosting": "ghosting", "flare": "flare", "moire": "moire"}
OBJECTS_FILE = Path(__file__).resolve().parent / "objects.yaml"

# Zero-shot ensembles: state phrases x templates (ours, in the spirit of WinCLIP's compositional prompts).
ZERO_SHOT_PHRASES: dict[str, tuple[str, ...]] = {
    "clean": ("a clean photo of a {}", "a sharp photo of a {}", "a photo of a {} without artifacts"),
    "ghosting": ("a photo of a {} with ghosting", "a double exposure of a {}", "a {} with ghost edges"),
    "flare": ("a photo of a {} with lens flare", "a {} with glare from a bright light", "a flared photo of a {}"),
    "moire": ("a photo of a {} with moire pattern", "a {} with moire fringes", "a screen photo of a {} with moire"),
}


@cache
def object_vocabulary(name: str) -> tuple[str, ...]:
    """Object/scene words of a named vocabulary in objects.yaml."""
    vocabularies = yaml.safe_load(OBJECTS_FILE.read_text())
    if name not in vocabularies:
        raise ValueError(f"unknown object vocabulary {name!r}; available: {sorted(vocabularies)}")
    return tuple(vocabularies[name])


class UnknownWordError(ValueError):
    """A prompt uses a word whose token has no row in the text tower's (compact) token table."""


class TextTower(nn.Module):
    """The open_clip text transformer, fed with token embeddings instead of token ids.

    ``vocabulary``: keep only these token ids' rows of the token table (``prompt_vocabulary``). A tower trained
    from scratch only ever learns the rows of its prompts' words; the other 49k rows of the BPE vocabulary are
    untrained noise that made up 60 % of a shipped checkpoint. The kept ids travel with the weights
    (``token_ids``), and a word outside them is an ``UnknownWordError``, never a silent zero row.
    """

    def __init__(self, clip: nn.Module, vocabulary: Sequence[int] | None = None):
        super().__init__()
        src = clip.text if hasattr(clip, "text") else clip  # CustomTextCLIP vs CLIP
        ids = None if vocabulary is None else torch.tensor(sorted(set(vocabulary)), dtype=torch.long)
        self.register_buffer("token_ids", ids)  # None: the full BPE table, indexed by token id
        self.token_embedding = src.token_embedding if ids is None else nn.Embedding.from_pretrained(
            src.token_embedding.weight[ids].detach().clone(), freeze=False)
        self.positional_embedding = src.positional_embedding
        self.transformer = src.transformer
        self.ln_final = src.ln_final
        self.text_projection = src.text_projection
        self.register_buffer("attn_mask", src.attn_mask, persistent=False)
        self.context_length = int(self.positional_embedding.shape[0])
        self.width = int(self.token_embedding.weight.shape[1])

    def embed_ids(self, ids: list[int]) -> torch.Tensor:
        device = self.token_embedding.weight.device
        t = torch.tensor(ids, dtype=torch.long, device=device)
        if self.token_ids is not None:
            rows = torch.searchsorted(self.token_ids, t).clamp(max=len(self.token_ids) - 1)
            unknown = self.token_ids[rows] != t
            if unknown.any():
                words = _bpe().decode(t[unknown].tolist()).split()
                raise UnknownWordError(
                    f"{' '.join(words)!r}: not in this text tower's {len(self.token_ids)}-token vocabulary (the "
                    f"words of objects.yaml and the zero-shot phrases when it was built); a new word has no "
                    f"trained embedding: train the model with it")
            t = rows
        return self.token_embedding(t)

    def forward(self, embeddings: torch.Tensor, eot_index: torch.Tensor) -> torch.Tensor:
        n, length, _ = embeddings.shape
        x = embeddings + self.positional_embedding[:length]
        mask = None if self.attn_mask is None else self.attn_mask[:length, :length]
        x = self.ln_final(self.transformer(x, attn_mask=mask))
        pooled = x[torch.arange(n, device=x.device), eot_index]
        if isinstance(self.text_projection, nn.Linear):
            return self.text_projection(pooled)
        return pooled @ self.text_projection


@cache
def _bpe() -> open_clip.tokenizer.SimpleTokenizer:
    return open_clip.tokenizer.SimpleTokenizer()


@cache  # read by every model built from scratch; the files it reads ship with the package
def prompt_vocabulary() -> tuple[int, ...]:
    """Every token id a prompt of this package can use: start and end tokens, the state words, the words of
    every vocabulary in objects.yaml, and the zero-shot phrases with each of those objects (``TextTower``)."""
    tok = _bpe()
    objects = {o for name in yaml.safe_load(OBJECTS_FILE.read_text()) for o in object_vocabulary(name)}
    texts = [*STATE_WORDS.values(), *objects,
             *(phrase.format(o) for phrases in ZERO_SHOT_PHRASES.values() for phrase in phrases for o in objects)]
    return tuple(sorted({tok.sot_token_id, tok.eot_token_id, *(i for text in texts for i in tok.encode(text))}))


class LearnedPrompts(nn.Module):
    """Learnable context and state tokens composed with fixed object words; returns t (K, O, D)."""

    def __init__(self, text: TextTower, objects: tuple[str, ...], n_ctx: int, n_state_tokens: int):
        super().__init__()
        self.objects = objects
        tok = _bpe()
        self._object_ids = [tok.encode(o) for o in objects]
        self._sot, self._eot = tok.sot_token_id, tok.eot_token_id
        longest = 2 + n_ctx + n_state_tokens + max(len(i) for i in self._object_ids)
        if longest > text.context_length:
            raise ValueError(f"prompts need {longest} tokens; the text tower holds {text.context_length}")
        self.ctx = nn.Parameter(torch.randn(n_ctx, text.width) * 0.02)
        with torch.no_grad():  # start each state from its own word, so the four anchors differ from step 0
            init = []
            for state in LABELS:
                word = text.embed_ids(tok.encode(STATE_WORDS[state]))
                init.append(word[torch.arange(n_state_tokens) % word.shape[0]])
        self.state_tokens = nn.Parameter(torch.stack(init).clone())

    def forward(self, t: TextTower) -> torch.Tensor:
        """Encode every (state, object) prompt with the text tower ``t`` (kept outside this module's state)."""
        sot, eot = t.embed_ids([self._sot]), t.embed_ids([self._eot])
        seqs = [torch.cat([sot, self.ctx, t.embed_ids(ids), state_tokens, eot])
                for state_tokens in self.state_tokens for ids in self._object_ids]
        return _encode(t, seqs).reshape(len(LABELS), len(self.objects), -1)

    def separation_loss(self, anchors: torch.Tensor) -> torch.Tensor:
        """Hinge on the cosine between different states of the same object: keeps anchors apart."""
        cos = torch.einsum("kod,jod->okj", anchors, anchors)
        off = ~torch.eye(len(LABELS), dtype=torch.bool, device=anchors.device)
        return F.relu(cos[:, off]).mean()


class FixedPrompts(nn.Module):
    """Hand-written prompt ensembles (``ZERO_SHOT_PHRASES``) encoded by the text tower at every call.

    APRIL-GAN-style: nothing of this module is learned (no context, no state tokens); when the text tower is
    trainable the anchors still move with it, so a from-scratch backbone can learn what the words mean.
    """

    def __init__(self, text: TextTower, objects: tuple[str, ...]):
        super().__init__()
        self.objects = objects
        tok = _bpe()
        self._sot, self._eot = tok.sot_token_id, tok.eot_token_id
        self._ids = [[tok.encode(phrase.format(obj)) for phrase in ZERO_SHOT_PHRASES[state]]
                     for state in LABELS for obj in objects]
        longest = 2 + max(len(ids) for group in self._ids for ids in group)
        if longest > text.context_length:
            raise ValueError(f"prompts need {longest} tokens; the text tower holds {text.context_length}")

    def forward(self, t: TextTower) -> torch.Tensor:
        """t[k, o]: the normalised mean of the encoded phrases of state k and object o."""
        sot, eot = t.embed_ids([self._sot]), t.embed_ids([self._eot])
        seqs = [torch.cat([sot, t.embed_ids(ids), eot]) for group in self._ids for ids in group]
        groups = _encode(t, seqs).split([len(group) for group in self._ids])
        means = torch.stack([g.mean(0) for g in groups]).reshape(len(LABELS), len(self.objects), -1)
        return F.normalize(means, dim=-1)

    def separation_loss(self, anchors: torch.Tensor) -> torch.Tensor:
        return anchors.new_zeros(())


def _encode(t: TextTower, seqs: list[torch.Tensor]) -> torch.Tensor:
    """Normalised text embeddings (N,D) of token-embedding sequences [SOT ... EOT], padded to the context."""
    eot_index = torch.tensor([s.shape[0] - 1 for s in seqs], device=seqs[0].device)
    padded = torch.stack([F.pad(s, (0, 0, 0, t.context_length - s.shape[0])) for s in seqs])
    return F.normalize(t(padded, eot_index), dim=-1)


class ZeroShotPrompts(nn.Module):
    """Fixed anchors from hand-written prompt ensembles, computed once from a pretrained text tower."""

    def __init__(self, clip: nn.Module, model_name: str, objects: tuple[str, ...]):
        super().__init__()
        self.objects = objects
        tokenizer = open_clip.get_tokenizer(model_name)
        anchors = []
        with torch.no_grad():
            for state in LABELS:
                per_object = []
                for obj in objects:
                    ids = tokenizer([p.format(obj) for p in ZERO_SHOT_PHRASES[state]])
                    emb = F.normalize(clip.encode_text(ids), dim=-1).mean(0)
                    per_object.append(F.normalize(emb, dim=-1))
                anchors.append(torch.stack(per_object))
        self.register_buffer("anchors", torch.stack(anchors), persistent=False)

    def forward(self, t: TextTower | None = None) -> torch.Tensor:
        return self.anchors

    def separation_loss(self, anchors: torch.Tensor) -> torch.Tensor:
        return anchors.new_zeros(())


def object_weights(t: torch.Tensor, cls_emb: torch.Tensor, temperature: float) -> torch.Tensor:
    """w_o(I) (B, O): softmax over objects of cos(class token, object prompt averaged over states)."""
    object_emb = F.normalize(t.mean(0), dim=-1)  # (O, D)
    return torch.softmax(F.normalize(cls_emb, dim=-1) @ object_emb.T / temperature, dim=-1)


def image_anchors(t: torch.Tensor, cls_emb: torch.Tensor, temperature: float) -> torch.Tensor:
    """T_k(I) = sum_o w_o(I) t[k, o], with w the image's ``object_weights``."""
    w = object_weights(t, cls_emb, temperature)
    return F.normalize(torch.einsum("bo,kod->bkd", w, t), dim=-1)
