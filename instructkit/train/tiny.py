"""A tiny from-config causal LM and a BPE tokenizer trained on the corpus in seconds: offline demos and tests.

No pretrained causal LM ships on PyPI, and nothing is downloaded at run time, so ``model: tiny`` in a training
recipe builds a Llama from a config (hidden 64, 2 layers: about 0.2M parameters plus the embeddings) and
trains a byte-level BPE on the training texts. Its chat template marks assistant turns with
``{% generation %}`` so TRL's assistant-only loss works.

```python
from instructkit.train.tiny import build_tokenizer, build_model

tok = build_tokenizer(["some text", "更多文字"], vocab_size=2000)
model = build_model(tok, seed=0)
```
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SPECIAL_TOKENS = ["<|end|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>"]

CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'assistant' %}<|assistant|>\n{% generation %}{{ m['content'] }}<|end|>{% endgeneration %}\n"
    "{% else %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
"""The tiny tokenizer's chat template: the assistant's content and its ``<|end|>`` are in the loss mask."""

TINY_DEFAULTS: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 176,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "max_position_embeddings": 1024,
    "vocab_size": 2000,
}


def build_tokenizer(texts: Iterable[str], *, vocab_size: int = 2000, model_max_length: int = 1024):
    """Train a byte-level BPE on ``texts`` and wrap it as a ``PreTrainedTokenizerFast`` with a chat template.

    Deterministic for the same texts in the same order (the tokenizers trainer is single-pass and seedless).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((t for t in texts if t), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|end|>",
        pad_token="<|pad|>",
        additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>"],
        model_max_length=model_max_length,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(tokenizer, *, seed: int = 0, **config: Any):
    """A freshly initialised (seeded) ``LlamaForCausalLM`` sized by ``TINY_DEFAULTS`` updated with ``config``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    params = {**TINY_DEFAULTS, **config, "vocab_size": len(tokenizer)}
    cfg = LlamaConfig(
        **params,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def count_parameters(model, *, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
