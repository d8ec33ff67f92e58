"""``keys generate``: a fresh Ed25519 signing key for decisions and its verify-key entry."""

from __future__ import annotations

import argparse
import json
import sys

from velocity_stream.errors import ConfigError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = subparsers.add_parser("keys", help="signing keys of approval decisions")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="COMMAND")
    keys_sub.required = True
    generate = keys_sub.add_parser(
        "generate",
        help="print a new signing key and the verify-key entry the gateway needs for it",
        description="Print a new Ed25519 signing key (a secret: put it in the signer's "
        "VELOCITY_REVIEW_SIGNING_KEY or VELOCITY_RULE_SIGNING_KEY) and the matching entry of "
        "the gateway's VELOCITY_DECISION_VERIFY_KEYS (public). docs/security.md: rotation.",
    )
    generate.add_argument(
        "--signer",
        required=True,
        help="the producer the key signs for: review-app (the review app) or approval-rules "
        "(the gateway's auto rules)",
    )
    generate.add_argument(
        "--key-id", default=None, help="the key's id (default: <signer>-<date>-<random>)"
    )
    generate.add_argument(
        "--json", action="store_true", help="one JSON object with both, for scripts"
    )
    generate.set_defaults(handler=_generate)


def _generate(args: argparse.Namespace) -> int:
    from velocity_stream.trust import SigningKey
    from velocity_stream.trust.config import (
        REVIEW_KEY_SETTING,
        RULE_KEY_SETTING,
        VERIFY_KEYS_SETTING,
    )
    from velocity_stream.trust.keys import RULES_SIGNER

    try:
        key = SigningKey.generate(args.signer, args.key_id)
    except ConfigError as error:
        print(f"velocity-stream keys generate: {error}", file=sys.stderr)
        return 2
    entry = json.dumps(key.verify_key.entry())
    if args.json:
        print(json.dumps({"signing_key": key.text(), "verify_key": key.verify_key.entry()}))
        return 0
    setting = RULE_KEY_SETTING if key.signer == RULES_SIGNER else REVIEW_KEY_SETTING
    print(f"# signing key of {key.signer!r}: a secret, for the signer only ({setting})")
    print(key.text())
    print(f"# verify-key entry: add it to the gateway's {VERIFY_KEYS_SETTING} object")
    print(entry)
    return 0
