"""Misspelt attributes of our decorators (`@conda(librarys=...)`), reported like any other
mistake in a flow's environment decorators: one line with a did-you-mean, no traceback.

Metaflow checks attributes when a decorator is built, that is while the flow file is
imported, where its error ends in a traceback. So the decorator records what it does not
know when it is built, and step_init / flow_init (where Metaflow prints its errors cleanly)
report it. Standard library and Metaflow only: loaded in every task process.
"""
import difflib
from typing import Any, Dict, Optional, Tuple

try:
    from metaflow.user_configs.config_parameters import UNPACK_KEY
except ImportError:  # Metaflow before configs: no delayed attributes to let through
    UNPACK_KEY = "\0"


class RecordsUnknownAttributes:
    """Mixin for a Metaflow decorator class (put before StepDecorator / FlowDecorator):
    attributes outside `defaults` are kept aside in `unknown_attributes` instead of failing
    at import time; `unknown_attribute_message` words them."""

    defaults: Dict[str, Any] = {}
    unknown_attributes: Tuple[str, ...] = ()

    def __init__(self, attributes: Optional[Dict[str, Any]] = None, *args: Any, **kwargs: Any) -> None:
        known = {k: v for k, v in (attributes or {}).items() if k in self.defaults or str(k).startswith(UNPACK_KEY)}
        unknown = tuple(k for k in (attributes or {}) if k not in known)
        super().__init__(known, *args, **kwargs)
        self.unknown_attributes = unknown

    def unknown_attribute_message(self, where: str) -> Optional[str]:
        """`<where>: unknown attribute 'x' (did you mean 'y'?); accepted: ...`, or None."""
        if not self.unknown_attributes:
            return None
        accepted = sorted(self.defaults)
        parts = []
        for attr in self.unknown_attributes:
            close = difflib.get_close_matches(str(attr), accepted, n=1)
            parts.append("'%s'%s" % (attr, " (did you mean '%s'?)" % close[0] if close else ""))
        return "%s: unknown attribute%s %s; the accepted ones are %s." % (
            where, "s" if len(parts) > 1 else "", ", ".join(parts), ", ".join(accepted))
