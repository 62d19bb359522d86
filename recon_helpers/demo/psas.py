"""How each PSA names the demo's clients and products, so one demo book can be written in
ConnectWise's, Autotask's or HaloPSA's shapes with the same planted findings.

Example:
    >>> psa_client_id("autotask", 3, "GRANITEC03"), psa_product_id("halopsa", "M365-BP")
    ('29683404', '70')
"""

from __future__ import annotations

PSAS = ("connectwise", "autotask", "halopsa")
PRODUCTS_ORDER = (
    "M365-BP",
    "M365-BS",
    "EXO-P1",
    "DBX-BUS",
    "RMM-DEV",
    "EDR-S1",
    "MDR-HUNT",
    "BKP-TB",
    "MSP-FLAT",
)


def autotask_company_id(index: int) -> str:
    """The Autotask Companies ``id`` of demo client ``index``."""
    return str(29683401 + index)


def autotask_service_id(product_id: str) -> str:
    """The Autotask Services ``id`` of a demo product."""
    return str(29682801 + PRODUCTS_ORDER.index(product_id))


def halo_client_id(index: int) -> str:
    """The Halo client ``id`` of demo client ``index``."""
    return str(101 + index)


def halo_item_id(product_id: str) -> str:
    """The Halo Item ``id`` of a demo product (a line's ``_itemid``)."""
    return str(70 + PRODUCTS_ORDER.index(product_id))


def psa_client_id(psa: str, index: int, identifier: str) -> str:
    """Client ``index``'s id in ``psa`` (the SPEC client_id the demo's findings name);
    ``identifier`` is its ConnectWise company identifier."""
    if psa == "autotask":
        return autotask_company_id(index)
    if psa == "halopsa":
        return halo_client_id(index)
    return identifier


def psa_product_id(psa: str, product_id: str) -> str:
    """The product's id in ``psa`` (Autotask Services id, Halo Item id; ConnectWise code)."""
    if psa == "autotask":
        return autotask_service_id(product_id)
    if psa == "halopsa":
        return halo_item_id(product_id)
    return product_id
