"""Each vendor's documented responses, scripted on the fake server (tests/fixtures/api/)."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.api_shapes import nce_blob
from tests.fake_api import FakeApi, Reply, Seen, fixture

FORMATS = Path(__file__).parent / "fixtures" / "formats"

# distinctive values, so a test can prove none of them is ever written anywhere
SECRETS = {
    "RECON_CONNECTWISE_PUBLIC_KEY": "cwPublicKEY4d1e",
    "RECON_CONNECTWISE_PRIVATE_KEY": "cwPrivateSECRET93ab",
    "RECON_CONNECTWISE_CLIENT_ID": "cwClientGUID-5c1a-44e1",
    "RECON_AUTOTASK_USERNAME": "api-user-7f3c@blueharbor.example",
    "RECON_AUTOTASK_SECRET": "atSecretQ8w2zz",
    "RECON_AUTOTASK_INTEGRATION_CODE": "atTRACKINGCODE27CHARSXX01",
    "RECON_PAX8_CLIENT_ID": "pax8ClientIdB7c2",
    "RECON_PAX8_CLIENT_SECRET": "pax8ClientSecretK9d4",
    "RECON_MICROSOFT_CLIENT_ID": "msAppId-0c2f-4e8b",
    "RECON_MICROSOFT_CLIENT_SECRET": "msAppSecret~Zq81",
    "RECON_DATTO_RMM_API_KEY": "dattoApiKeyR2t6",
    "RECON_DATTO_RMM_API_SECRET": "dattoApiSecretW5p0",
    "RECON_SENTINELONE_API_TOKEN": "s1ApiTokenEyJhbGciOi",
    "RECON_HUNTRESS_API_KEY": "hntApiKeyF3g8",
    "RECON_HUNTRESS_API_SECRET": "hntApiSecretJ6k1",
}
ISSUED = ["PAX8-ACCESS-TOKEN-1f2e3d", "MS-ACCESS-TOKEN-eyJ0eXAi", "DATTO-ACCESS-TOKEN-77aa",
          "SASSIGNATURE0abcdEFGH"]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def every_secret_form() -> list[str]:
    """Every credential, the Basic headers built from them, and the tokens the server issues."""
    s = SECRETS
    return [*s.values(), *ISSUED,
            basic(f"blueharbor+{s['RECON_CONNECTWISE_PUBLIC_KEY']}",
                  s["RECON_CONNECTWISE_PRIVATE_KEY"]).split()[1],
            basic(s["RECON_HUNTRESS_API_KEY"], s["RECON_HUNTRESS_API_SECRET"]).split()[1]]


def config(base: str, only: tuple[str, ...] | None = None) -> str:
    """recon.toml [pull.*] tables pointing every source at the fake server."""
    tables = {
        "connectwise": f'base_url = "{base}/cw/v4_6_release/apis/3.0"\ncompany = "blueharbor"',
        "autotask": f'base_url = "{base}/atservicesrest/v1.0"',
        "pax8": f'base_url = "{base}/pax8/v1"\ntoken_url = "{base}/pax8/v1/token"',
        "microsoft": (f'base_url = "{base}/graph/v1.0"\ntoken_url = "{base}/login/'
                      f'0e195b37/oauth2/v2.0/token"\ntenant = "0e195b37-4574-4539-bc42-'
                      f'0e539b9684c0"\npartner_center_url = "{base}/pc/v1"'),
        "datto_rmm": f'base_url = "{base}/datto/api"',
        "sentinelone": f'base_url = "{base}/s1/web/api/v2.1"',
        "huntress": f'base_url = "{base}/huntress/v1"',
    }
    return "\n".join(f"[pull.{k}]\n{v}\n" for k, v in tables.items() if only is None or k in only)


CW = "/cw/v4_6_release/apis/3.0"


def cw_page(name: str, next_page: int | None = None):  # type: ignore[no-untyped-def]
    """A ConnectWise page; with ``next_page`` a Link header to it (the request's own query)."""

    def reply(seen: Seen) -> Reply:
        headers = {}
        if next_page is not None:
            target = seen.target.replace("page=1&", f"page={next_page}&")
            headers["Link"] = f'<{{base}}{target}>; rel="next", <{{base}}{target}>; rel="last"'
        return Reply(body=fixture("connectwise", name), headers=headers)

    return reply


def script_connectwise(api: FakeApi) -> None:
    api.add("GET", f"{CW}/company/companies", cw_page("companies-p1.json", 2),
            cw_page("companies-p2.json"))
    api.add("GET", f"{CW}/finance/agreements", cw_page("agreements-p1.json"))
    for aid in range(1001, 1007):
        api.add("GET", f"{CW}/finance/agreements/{aid}/additions",
                cw_page(f"additions-{aid}.json"))
    api.add("GET", f"{CW}/finance/invoices", cw_page("invoices-p1.json"))
    api.add("GET", f"{CW}/procurement/products", cw_page("products-p1.json"))
    api.add("GET", f"{CW}/procurement/catalog", cw_page("catalog-p1.json"))


AT = "/atservicesrest/v1.0"


def script_autotask(api: FakeApi, root: str = AT) -> None:
    at = {n: fixture("autotask", f"{n}-p1.json") for n in (
        "contracts", "contract_services", "contract_service_units", "services", "invoices",
        "billing_items")}
    api.json("POST", f"{root}/Companies/query", fixture("autotask", "companies-p1.json")
             .replace(AT, root))
    api.json("POST", f"{root}/Companies/query/next", fixture("autotask", "companies-p2.json"))
    api.json("POST", f"{root}/Services/query", at["services"])
    api.json("POST", f"{root}/Contracts/query", at["contracts"])
    api.json("POST", f"{root}/ContractServices/query", at["contract_services"])
    api.json("POST", f"{root}/ContractServiceUnits/query", at["contract_service_units"])
    api.json("POST", f"{root}/Invoices/query", at["invoices"])
    api.json("POST", f"{root}/BillingItems/query", at["billing_items"])


PAX8 = "/pax8/v1"
PAX8_UNPAID = "8d3c0e7a-7d5b-4c2c-9a86-5c6d0c3f2b11"
PAX8_CREDITED = "1b7e44c2-2a90-4bd6-8f11-0d9f3a6e5c70"


def script_pax8(api: FakeApi) -> None:
    api.json("POST", f"{PAX8}/token", fixture("pax8", "token.json"))
    api.json("GET", f"{PAX8}/companies", fixture("pax8", "companies-p1.json"))
    api.json("GET", f"{PAX8}/subscriptions", fixture("pax8", "subscriptions-p1.json"))
    api.json("GET", f"{PAX8}/invoices", fixture("pax8", "invoices-p1.json"))
    api.json("GET", f"{PAX8}/invoices/{PAX8_UNPAID}/items",
             *(fixture("pax8", f"invoice-items-p{n}.json") for n in (1, 2, 3)))
    api.json("GET", f"{PAX8}/invoices/{PAX8_CREDITED}/items",
             fixture("pax8", "credited-items-p1.json"))


MS_BILLING = "/graph/v1.0/reports/partners/billing"
MS_OPERATION = f"{MS_BILLING}/operations/9fb0e9e7-4c3a-4c3a-9d1e-5a8f1e2d3c4b"
MS_MANIFEST = f"{MS_BILLING}/manifests/6fe687d7-1e0f-4bd6-9091-4672691f64bc"
MS_BLOB = ("/blob/billedusagefastpath/v1/PartnerTenantId=0e195b37-4574-4539-bc42-0e539b9684c0/"
           "BillingMonth=202610/InvoiceId=G032145678/6fe687d7/"
           "part-00049-b016029b-a7a7-4c46-9b5e-c925ac317ac6.c000.json.gz")


def script_microsoft(api: FakeApi, blob: bytes | None = None) -> None:
    if blob is None:
        blob = nce_blob((FORMATS / "microsoft_nce_invoice_recon.csv").read_text("utf-8"))
    token = fixture("microsoft", "token.json")
    api.json("POST", "/login/0e195b37/oauth2/v2.0/token", token, token)
    api.json("GET", "/pc/v1/invoices", fixture("microsoft", "invoices-p1.json"),
             fixture("microsoft", "invoices-p2.json"))
    api.add("POST", "/graph/v1.0/reports/partners/billing/reconciliation/billed/export",
            Reply(202, b"", headers={"Location": "{base}" + MS_OPERATION}, content_type=None))
    api.add("GET", MS_OPERATION,
            Reply(body=fixture("microsoft", "operation-running.json"),
                  headers={"Retry-After": "5"}),
            Reply(body=fixture("microsoft", "operation-succeeded.json")))
    api.json("GET", MS_MANIFEST, fixture("microsoft", "manifest.json"))
    api.add("GET", MS_BLOB, Reply(body=blob, content_type="application/octet-stream"))


def script_datto(api: FakeApi) -> None:
    api.json("POST", "/auth/oauth/token", fixture("datto_rmm", "token.json"))
    api.json("GET", "/datto/api/v2/account/sites", fixture("datto_rmm", "sites-p1.json"),
             fixture("datto_rmm", "sites-p2.json"))


def script_sentinelone(api: FakeApi) -> None:
    api.json("GET", "/s1/web/api/v2.1/sites", fixture("sentinelone", "sites-p1.json"),
             fixture("sentinelone", "sites-p2.json"))


def script_huntress(api: FakeApi) -> None:
    api.json("GET", "/huntress/v1/organizations", fixture("huntress", "organizations-p1.json"),
             fixture("huntress", "organizations-p2.json"))


SCRIPTS = {
    "connectwise": script_connectwise,
    "autotask": script_autotask,
    "pax8": script_pax8,
    "microsoft": script_microsoft,
    "datto_rmm": script_datto,
    "sentinelone": script_sentinelone,
    "huntress": script_huntress,
}
