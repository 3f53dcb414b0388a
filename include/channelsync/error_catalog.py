"""The error catalog's guidance: for every code, what it means, what to do and who acts first.

Codes are declared with :func:`channelsync.errors.define` next to the code that raises them; this module
says, for each of them, what the operator's view shows (the run status page, the alert e-mails,
``channelsync status``). It is written from the vendors' operations manuals (TD SYNNEX Digital Bridge for
Autotask and ConnectWise, PRISM Connect for Autotask, the integration-support guide on monitoring) in
channelsync's own terms. ``tests/unit/test_error_catalog.py`` fails when a code is defined or raised that
has no entry here (or in its own ``define()`` call), and when an entry names a code nobody defines.

Who acts first (:data:`channelsync.errors.RESPONDERS`):

- **PSA admin** — the MSP's Autotask / ConnectWise administrator: API users, security roles, picklists,
  contracts, products and services as they are set up in the PSA;
- **distributor support** — TD SYNNEX, Crayon (PRISM) or Pax8 support, reached through the MSP's account
  manager or the distributor's support address: their API, their catalog, their account settings;
- **MSP billing/finance** — whoever checks invoices and margins before customers are billed;
- **channelsync operator** — whoever runs the channelsync installation (Airflow, workers, the state
  store, the network it talks through) and reports defects;
- **data engineer** — whoever configures the integrations (``config/integrations.yaml``, Airflow
  connections, customer and category mappings, schedules).
"""

from __future__ import annotations

import importlib
import logging
import re
from functools import lru_cache
from pathlib import Path

from channelsync.errors import CATALOG, AlertChannel, ErrorCode, Guidance, Responder, define

log = logging.getLogger(__name__)

PSA: Responder = "PSA admin"
DISTRIBUTOR: Responder = "distributor support"
FINANCE: Responder = "MSP billing/finance"
OPERATOR: Responder = "channelsync operator"
ENGINEER: Responder = "data engineer"

# Codes raised with a literal (``code = "X"``) rather than a define() call of their own, and the fallbacks
# the alerts and pages use; declared here so the catalog holds them like any other.
CHANNELSYNC_ERROR = define("CHANNELSYNC_ERROR", "channelsync",
                           "channelsync stopped on an error without a code of its own")
LOAD_INCOMPLETE = define("LOAD_INCOMPLETE", "channelsync",
                         "Some writes of the load could not be completed; the task is retried and sends only those")
UNEXPECTED_ERROR = define("UNEXPECTED_ERROR", "channelsync", "An unexpected error (a defect) stopped the step")
DAG_RUN_FAILED = define("DAG_RUN_FAILED", "channelsync", "Airflow marked the DAG run failed (timeout, or by hand)")


def _g(explanation: str, action: str, first_responder: Responder, rerun_fixes: bool,
       alert: AlertChannel = "dashboard") -> Guidance:
    return Guidance(explanation, action, first_responder, rerun_fixes, alert)


# -- the four transport codes of every HTTP client (errors.define_transport_codes) ----------------------

_VENDORS = {  # prefix → (vendor, who acts first when the vendor itself fails, what their throttling is)
    "AUTOTASK": ("Autotask", PSA, "Autotask slows and then refuses calls when the tenant nears its hourly request "
                 "threshold (10,000 per hour, shared by every integration of the database) or opens more than three "
                 "calls at once per entity"),
    "CW": ("ConnectWise", PSA, "ConnectWise throttles an API member that sends too many calls at once"),
    "TDS": ("TD SYNNEX", DISTRIBUTOR, "TD SYNNEX limits how often an account may call its XML and Ion services"),
    "CRAYON": ("Crayon", DISTRIBUTOR, "Crayon limits how many calls an API client may make per minute"),
    "PAX8": ("Pax8", DISTRIBUTOR, "Pax8 limits how many calls a partner's API client may make per minute"),
    "HTTP": ("the vendor", OPERATOR, "The vendor limits how many calls channelsync may make"),
}


def _transport(prefix: str) -> dict[str, Guidance]:
    vendor, owner, throttling = _VENDORS[prefix]
    who = vendor[:1].upper() + vendor[1:]  # at the start of a sentence
    return {
        f"{prefix}_RATE_LIMITED": _g(
            f"{throttling}. channelsync waited and retried as the answer asked, but it was still refused; nothing "
            "was lost (what was not sent is retried or planned again by the next run).",
            "Nothing if the next run succeeds. If it keeps happening: spread the integration's schedules, lower "
            "the template's load.concurrency, and check which other tools use the same API user or account.",
            ENGINEER, True),
        f"{prefix}_SERVER_ERROR": _g(
            f"{who} answered with a server error (5xx) to every attempt: an outage, maintenance or a fault on "
            "their side. Reads were retried; a write that may have reached them is looked up before it is sent "
            "again.",
            f"Check {vendor}'s status page and the endpoint health card; rerun once it answers again. If it "
            f"persists, contact {vendor} support with the time, the call and the message shown here.",
            owner, True),
        f"{prefix}_CLIENT_ERROR": _g(
            f"{who} refused the request itself (a 4xx answer without a more specific code): a field, a value or "
            "a call that it does not accept. Retrying sends the same request and is refused the same way.",
            "Read the vendor's message on the item or the run. If the data is wrong, fix it at the source; if the "
            "request is wrong, report it to the channelsync operator with the message (it may be a defect or a "
            "change in the vendor's API).",
            OPERATOR, False),
        f"{prefix}_UNREACHABLE": _g(
            f"{who} could not be reached, or did not answer in time, after every retry: the network, DNS, a "
            "firewall or proxy, TLS, or the vendor being down.",
            "Check the endpoint health card first (is only this system down?). Check the host in the Airflow "
            "connection, the channelsync host's network, firewall and proxy, and the vendor's status page; rerun "
            "when it answers.",
            OPERATOR, True),
    }


GUIDANCE: dict[str, Guidance] = {
    **{code: advice for prefix in _VENDORS for code, advice in _transport(prefix).items()},

    # -- channelsync itself ------------------------------------------------------------------------------
    CHANNELSYNC_ERROR: _g(
        "channelsync stopped on purpose, but the error carries no more specific code.",
        "Read the message on the run and the failed task's log; report it to the channelsync operator so the "
        "error gets a code of its own.", OPERATOR, False),
    UNEXPECTED_ERROR: _g(
        "Something channelsync did not expect stopped the step: a defect, or a situation it does not handle yet. "
        "Nothing after the failed step was written.",
        "Open the failed task's log (the traceback is there) and report it to the channelsync operator with the "
        "run's link. A rerun may help if the cause was passing.", OPERATOR, False),
    DAG_RUN_FAILED: _g(
        "Airflow ended the DAG run as failed without a task failing: it ran past its timeout, or someone marked "
        "it failed.", "Open the DAG run in Airflow to see which; trigger the DAG again when ready.",
        OPERATOR, True),
    LOAD_INCOMPLETE: _g(
        "Some writes of the load got no usable answer (the target was unreachable, or a write's outcome was "
        "unknown). Airflow retries the task; the ledger makes the retry send only what was not applied, and a "
        "write whose answer was lost is looked up first, so nothing is sent twice.",
        "Usually nothing: the retry finishes it. If the task runs out of retries, check the target's endpoint "
        "health and clear the load task when it answers.", OPERATOR, True),
    "CONFIG_INVALID": _g(
        "The integrations file (config/integrations.yaml) does not validate, so no DAG of it is built; the message "
        "names the integration and the field.",
        "Fix the field the message names (`channelsync config check` validates the file) and wait for Airflow to "
        "parse the DAGs again.", ENGINEER, False),
    "CONNECTION_MISSING": _g(
        "The Airflow connection the integration names is not defined in Airflow.",
        "Create the connection (Admin → Connections, an environment variable or the secrets backend) with the id "
        "the message names, then rerun.", ENGINEER, True),
    "CONNECTION_INVALID": _g(
        "The Airflow connection exists but lacks a field its system needs (a host, a login, an extra such as the "
        "Autotask integration code or the TD SYNNEX customer number), or holds a bad value.",
        "Edit the connection as the message says (Airflow's connection form lists the fields); test it, then "
        "rerun.", ENGINEER, True),
    "CONNECTION_UNREACHABLE": _g(
        "Nothing answers at the host of an Airflow connection, checked before a command starts.",
        "Check the host (and port) in the connection, that the service is running (the sandbox for the demo), "
        "and the network between them.", OPERATOR, True),
    "CLI_UNKNOWN_NAME": _g(
        "The command names an integration or a template that the integrations file does not configure or enable.",
        "Use a name `channelsync config check` lists, or enable the template under the integration's templates.",
        ENGINEER, False),
    "AIRFLOW_DB_NOT_READY": _g(
        "Airflow's metadata database is missing or not migrated to this Airflow version, so nothing can run.",
        "Run `airflow db migrate` with the installation's AIRFLOW_HOME (in a checkout: `source scripts/env.sh` "
        "first).", OPERATOR, False),
    "STATE_STORE_NOT_READY": _g(
        "channelsync's state store (runs, items, the ledger, mappings) is missing or behind its schema version.",
        "Run `channelsync db upgrade` against the state store the installation uses.", OPERATOR, False),
    "STATE_LEASE_TIMEOUT": _g(
        "No concurrency slot of the API became free in time: other tasks (maybe other integrations on the same "
        "PSA database) held all of them. Nothing was sent for the waiting operations.",
        "Nothing if the retry succeeds. If it keeps happening, stagger the schedules of the integrations that "
        "share the PSA, or lower their load.concurrency.", ENGINEER, True),
    "STATE_LEASE_UNAVAILABLE": _g(
        "The state store could not be reached to take a concurrency slot, so no call was made.",
        "Check the state store (database up, reachable, not out of disk); Airflow retries the task.",
        OPERATOR, True),
    "STATE_SECRET_KEY_MISSING": _g(
        "Airflow has no Fernet key, so channelsync refuses to store rotating credentials (TD SYNNEX Ion refresh "
        "tokens) in clear text.",
        "Set [core] fernet_key (AIRFLOW__CORE__FERNET_KEY) for every Airflow component, then rerun.",
        OPERATOR, True),
    "STATE_SECRET_UNREADABLE": _g(
        "A stored credential cannot be decrypted with the configured Fernet key(s): the key was changed without "
        "keeping the old one.",
        "Put the previous key back after the new one in [core] fernet_key (comma-separated) and run "
        "`channelsync db reencrypt`; if it is lost, issue new credentials (for Ion: new OAuth credentials in the "
        "TD SYNNEX portal) and update the connection.", OPERATOR, False),
    "HELD_BY_OTHER_RUN": _g(
        "Another run (maybe another integration writing to the same PSA database) is writing this item right "
        "now. It was not sent twice; a later attempt finds what the other run did.",
        "Nothing: the retry or the next run settles it. Two integrations that keep meeting here may be "
        "configured to sync the same records.", ENGINEER, True),
    "LOAD_CIRCUIT_OPEN": _g(
        "The target refused or failed many operations in a row, so channelsync stopped sending the rest of this "
        "attempt instead of repeating the same failure hundreds of times.",
        "Read the error of the first failed items: usually one cause (permissions, a missing picklist value, an "
        "outage). Fix it and rerun; what was not sent is sent then.", OPERATOR, True),
    "WRITE_NOT_BUILT": _g(
        "The write for this item could not be built from its data (a value the target cannot take), so only this "
        "item failed and nothing of it was sent.",
        "Read the item's message; correct the source record or the mapping, then rerun. If the data looks right, "
        "report it to the channelsync operator.", ENGINEER, False),
    "LOAD_PARTITION_FAILED": _g(
        "One customer or one order could not be loaded; its items say why. The other customers or orders of the "
        "run were loaded.",
        "Fix the cause shown on its items, then clear just that load task (the status page's rerun does it); "
        "what was applied before is not sent again.", ENGINEER, True),
    "QUALITY_ROW_QUARANTINED": _g(
        "A source row failed a blocking data-quality check (the item names the check) and was kept out of the "
        "load; the rest of the run went on.",
        "Check the row at the source (the distributor's data, or the PSA record) or the mapping that feeds it; "
        "the next run picks it up once it passes.", ENGINEER, True),
    "QUALITY_SUITE_FAILED": _g(
        "The source data as a whole is unusable (empty, a column missing, the wrong type), so the run stopped "
        "before writing anything.",
        "Read which check failed. An empty or broken feed is usually the distributor's (ask their support); a "
        "changed layout may need a channelsync update (tell the operator).", DISTRIBUTOR, True),
    "RECONCILE_MASS_DEACTIVATION": _g(
        "The plan would deactivate more linked products than the safety limit allows (a feed cut short, or a "
        "category dropped from the selection), so nothing was written.",
        "Preview the run to see which products would go; fix the feed or the category selection, or raise the "
        "limit on purpose, then rerun.", ENGINEER, False, "email"),
    "RECONCILE_PRODUCT_LIMIT": _g(
        "The plan would grow the PSA past its product limit (ConnectWise: 20,000 catalog items), so nothing was "
        "written.",
        "Narrow the category selection, or ask TD SYNNEX for a custom price file covering fewer products.",
        ENGINEER, False, "email"),
    "RECONCILE_XREF_MISMATCH": _g(
        "Products channelsync linked earlier are missing from what the PSA returned, which usually means an "
        "incomplete read of the PSA rather than products deleted by hand. The run stopped before writing.",
        "Rerun; if it persists, check the API user's permissions on products (a narrowed security level hides "
        "records) and whether products were deleted in bulk.", PSA, True),
    "RECONCILE_SERVICES_VANISHED": _g(
        "Services channelsync linked earlier are missing from what the PSA returned; the run stopped rather than "
        "re-create many services by mistake.",
        "Rerun; if it persists, check the API user's access to services and whether they were deleted in bulk.",
        PSA, True),
    "RECONCILE_KEY_TOO_LONG": _g(
        "A lookup key (e.g. a SKU) is longer than the PSA field that must hold it, so the item cannot be matched "
        "reliably and was not written.",
        "Check the source item; if such keys are legitimate, report it so the key mapping can be changed.",
        OPERATOR, False),
    "RECONCILE_CURRENCY_RATE_MISSING": _g(
        "An item is priced in a currency the integration accepts but has no conversion rate for.",
        "Add the rate under the template's currency.rates, or stop accepting that currency.", ENGINEER, False),

    # -- endpoint health and alerts -------------------------------------------------------------------
    "HEALTH_SYSTEM_DOWN": _g(
        "A system the integration needs did not pass its health check (authenticate and one cheap read): the "
        "runs that use it fail or defer their writes until it is back. The down system's own code, listed with "
        "it, says why and who acts first (a locked or refused API user: the PSA admin; a distributor's outage: "
        "its support).",
        "Follow the system's own code. Nothing needs rerunning for the check itself: the next check (every few "
        "minutes) e-mails the recovery; then rerun what failed during the outage.", OPERATOR, True, "email"),
    "HEALTH_SYSTEM_RECOVERED": _g(
        "A system that was down passes its health check again; runs that need it work again.",
        "Rerun what failed or was deferred during the outage (the sync history shows the failed runs); the "
        "scheduled runs catch up on their own.", ENGINEER, True),
    "HEALTH_SLOW": _g(
        "The system answered its health check, but slower than the template's slow_ms: syncs will take longer "
        "and may time out.",
        "Watch the latency trend on the dashboard; if it stays high, check the network and the vendor's status, "
        "and move large syncs to quiet hours.", OPERATOR, True),
    "HEALTH_BUDGET_LOW": _g(
        "Most of the Autotask database's hourly API request threshold is used (by channelsync and every other "
        "integration of the tenant), or channelsync's own share of it (the connection's threshold_share) is "
        "spent: channelsync's syncs defer their writes, and Autotask slows, then refuses, every integration's "
        "calls when the threshold is reached.",
        "Find what uses the budget (the run pages show channelsync's calls per run); spread schedules or lower "
        "other tools' polling before the threshold blocks everyone; raise threshold_share only if the tenant "
        "has headroom.", PSA, True, "email"),
    "ALERT_DELIVERY_FAILED": _g(
        "An alert e-mail could not be handed to the SMTP server after several attempts; it is recorded as failed "
        "in the alert log and sent again once the server takes the integration's next alert.",
        "Check Airflow's SMTP settings ([smtp]: host, port, STARTTLS/SSL, user, password) and that the server "
        "accepts mail from the channelsync host.", OPERATOR, True),

    # -- templates ------------------------------------------------------------------------------------
    "CATALOG_CONFLICT": _g(
        "Someone changed the product in the PSA since channelsync last wrote it; channelsync kept their edit "
        "instead of overwriting it (the item shows what changed).",
        "Decide which value is right: keep the PSA's edit (nothing to do) or undo it in the PSA so the next sync "
        "updates the product.", PSA, False, "email"),
    "CATALOG_DUPLICATE": _g(
        "Several PSA products match one distributor item (same SKU / manufacturer part number), so none was "
        "linked and none was created.",
        "Merge or deactivate the duplicates in the PSA so one product remains; the next run links it.",
        PSA, True),
    "PNA_CONFLICT": _g(
        "Someone changed the product's cost or price in the PSA since channelsync last wrote it; the refresh kept "
        "their value.",
        "Keep the edit, or undo it in the PSA so the next price & availability run refreshes it.", PSA, False,
        "email"),
    "PNA_DISCONTINUED": _g(
        "TD SYNNEX reports the product discontinued. It is flagged, not deactivated: quotes may still use it.",
        "Review open quotes and orders that use it and replace it; deactivate it in the PSA when done.",
        PSA, False),
    "PNA_NOT_AUTHORIZED": _g(
        "TD SYNNEX says the reseller account is not authorised to buy this product (vendor authorisation or "
        "account settings).",
        "Ask TD SYNNEX (account manager or Digital Bridge support) to authorise the product line, or stop "
        "quoting it.", DISTRIBUTOR, False),
    "PNA_NOT_LINKED": _g(
        "The SKU asked for is not linked to a PSA product yet, so there is nothing to refresh.",
        "Run catalog_sync (it links the products), or take the SKU off the template's list.", ENGINEER, True),
    "PNA_INCOMPLETE": _g(
        "TD SYNNEX's price & availability service answered for fewer SKUs than were asked, so prices may be "
        "stale for the missing ones.",
        "Rerun; if SKUs keep missing, send TD SYNNEX support the SKUs and the time of the request.",
        DISTRIBUTOR, True),
    "SERVICE_PRICES_CHANGED": _g(
        "service_catalog_sync changed the unit cost or unit price of PSA services; the report lists each change "
        "and the new margin (a negative margin means selling below cost).",
        "Review the report before the next invoices go out, especially services whose margin went below zero or "
        "under the floor.", FINANCE, False, "email"),
    "SERVICE_DUPLICATE": _g(
        "A PSA service that channelsync did not create already has the name this product's service must have "
        "(PC_ + SKU), so nothing was written for it.",
        "Rename or delete the conflicting service in the PSA, then rerun; channelsync then keeps syncing the "
        "product to its own service (which may be renamed afterwards).", PSA, True, "email"),
    "SERVICE_TEXT_TRUNCATED": _g(
        "A service description was longer than the PSA allows (Autotask: 400 characters for the description, "
        "1000 for the invoice description) and was cut.", "Nothing, unless the shortened text reads badly: edit "
        "it in the PSA (only price and cost are updated after the first sync).", PSA, False),
    "SERVICE_UNSUPPORTED": _g(
        "The product cannot become a PSA service as it stands (a billing cycle the PSA service cannot express, "
        "or a name that cannot fit).", "Create the service by hand if it is needed and map it as an override.",
        ENGINEER, False),
    "SERVICE_CONFIG_INVALID": _g(
        "service_catalog_sync's billing code (Autotask: a Recurring Contract service code), vendor or category is "
        "not usable in the PSA, so no service can be created.",
        "Set the template's billing_code / vendor / subcategory to values that exist and are active in the PSA.",
        ENGINEER, False),
    "ORDER_INVALID": _g(
        "The purchase order failed the checks before submission (distributor SKUs only, prices within tolerance, "
        "complete ship-to address, no characters TD SYNNEX refuses). It was not sent; the PO is marked in the PSA "
        "with every reason.",
        "Correct the PO in the PSA as the reasons say and set it back to the submit status; the next run sends "
        "it.", PSA, True, "email"),
    "ORDER_STUCK": _g(
        "A purchase order has been in the submit status longer than the configured hours without an accepted "
        "distributor order: submission keeps failing, or nobody noticed it was refused.",
        "Open the PO's items: the last attempt's error says why. Fix that (or ask TD SYNNEX whether they "
        "received it) before the customer waits longer.", PSA, True, "email"),
    "ORDER_CONFLICT": _g(
        "The PO was submitted already, but someone set it back to the submit status. It was not sent again, so "
        "no duplicate order was placed.",
        "If a second order is really wanted, create a new PO; otherwise set the status back.", PSA, False,
        "email"),
    "ORDER_WRITEBACK_FAILED": _g(
        "TD SYNNEX accepted the order, but writing its order number and status back to the PSA failed. The order "
        "exists and is never resubmitted.",
        "Check the PSA permissions on purchase orders and the PO itself; the next run writes the number back.",
        PSA, True, "email"),
    "ORDER_STATUS_CONFLICT": _g(
        "The PO's status was changed in the PSA since channelsync last wrote it, so the distributor's status was "
        "not written over it.",
        "Check whether the manual change is right; undo it if the distributor's status should show.", PSA,
        False),
    "BILLING_CUSTOMER_UNMAPPED": _g(
        "The invoice has lines for a customer that is not mapped to a PSA company and contract; nothing of that "
        "customer was posted.",
        "Map the customer (`channelsync mapping set`, or the mappings page), then rerun that customer.",
        FINANCE, True, "email"),
    "BILLING_SYNC_OFF": _g(
        "The customer's sync switch is off, so its invoice lines were not posted (on purpose).",
        "Nothing, unless the customer should be billed: turn its sync on and rerun it.", FINANCE, False),
    "BILLING_MARGIN_LOW": _g(
        "A service is sold below its cost, or under the integration's margin floor, on this invoice.",
        "Review the PSA service's price (or the floor) before invoicing the customer.", FINANCE, False, "email"),
    "BILLING_PRORATION_MISMATCH": _g(
        "For one month the PSA's prorated amount and the distributor's prorated invoice lines differ by more than "
        "a cent.",
        "Compare the contract's proration settings and the service's price with the invoice before billing.",
        FINANCE, False, "email"),
    "BILLING_HAND_EDIT_OVERWRITTEN": _g(
        "A contract service that channelsync posts was changed by hand in the PSA; the invoice wins, so the edit "
        "was overwritten (the item keeps both values).",
        "If the hand edit was deliberate (a discount, a correction), make it elsewhere (a separate service or a "
        "price override), since every invoice sets the quantities again.", FINANCE, False, "email"),
    "BILLING_EARLIER_ADJUSTMENT_PENDING": _g(
        "An earlier adjustment of this contract service was not applied yet; this one waits, because Autotask "
        "applies adjustments in date order.", "Nothing: the retry sends them in order once the earlier one is "
        "applied.", OPERATOR, True),
    "BILLING_NO_INVOICE": _g(
        "No invoice with the requested id was found at the distributor.",
        "Check the invoice id given to the run (the invoice_id param), or let the watcher trigger the run.",
        ENGINEER, False),
    "BILLING_CONTRACT_MISSING": _g(
        "The PSA contract (agreement) the customer is mapped to does not exist any more.",
        "Map the customer to its current contract, then rerun the customer.", FINANCE, True, "email"),
    "BILLING_CONTRACT_NOT_RECURRING": _g(
        "The mapped Autotask contract is not a Recurring Service contract, the only kind subscriptions can be "
        "billed on.", "Map the customer to an active Recurring Service contract, then rerun it.", FINANCE, True,
        "email"),
    "BILLING_CONTRACT_DATES": _g(
        "The invoice needs changes effective on dates outside the contract's start and end dates (an expired or "
        "not yet started contract).",
        "Extend or renew the contract in the PSA, or map the customer to the current one; then rerun the "
        "customer.", FINANCE, True, "email"),
    "BILLING_CONTRACT_KIND": _g(
        "The mapped contract or agreement is not of the kind this integration bills (the template's "
        "contract_kind).", "Map the customer to a contract of that kind, or change contract_kind.", FINANCE, True),
    "BILLING_SERVICE_MISSING": _g(
        "There is no PSA service for a product on the invoice (not synced yet, or a retired product no longer on "
        "the price list).",
        "Run service_catalog_sync; for a retired product create the service by hand and add a service override "
        "for it; then rerun the customer.", ENGINEER, True, "email"),
    "BILLING_ANNUAL_ON_MONTHLY_AGREEMENT": _g(
        "An annual subscription cannot be added to a monthly ConnectWise agreement, so it was not posted.",
        "Bill it on a yearly agreement or as a one-time product.", FINANCE, False, "email"),
    "CONTRACT_DATE_OUTSIDE": _g(
        "The PSA refused a change effective outside the contract's start and end dates (Autotask: the adjustment "
        "date must fall inside the contract; only active Recurring Service contracts can be synced).",
        "Review the contract in the PSA: extend or renew it, or map the customer to the current one; then rerun "
        "the customer.", FINANCE, True, "email"),
    "CONTRACT_UNITS_CHANGED": _g(
        "After a lost answer, the contract's units are neither what they were nor what was posted: someone "
        "changed the contract meanwhile. Nothing was sent again.",
        "Rerun the customer: it plans again from the contract as it is now.", FINANCE, True),
    "CONTRACT_OPERATION_UNSUPPORTED": _g(
        "The plan holds a contract operation this PSA's adapter does not perform, or its fields are incomplete: "
        "a defect.", "Report it to the channelsync operator with the run's link.", OPERATOR, False),
    "MAPPING_NOT_FOUND": _g(
        "The integration has no mapping for that customer.",
        "List the mappings (`channelsync mapping list`) and create the missing one.", ENGINEER, False),
    "MAPPING_INVALID": _g(
        "A customer mapping, or the key given for it, is not valid (an empty id, an unknown distributor).",
        "Correct the mapping as the message says.", ENGINEER, False),
    "MAP_ENTRY_INVALID": _g(
        "A category mapping or service override given in the pages or the CLI is not valid (an empty or "
        "over-long code, SKU, category or service name).",
        "Correct the entry as the message says; nothing was saved.", ENGINEER, False),
    "MAP_ENTRY_NOT_FOUND": _g(
        "The state store has no category mapping or service override for that key, so there is nothing to "
        "remove: the integrations file alone decides it.",
        "List the entries (the Categories or Services page of the integration's mappings) and pick one that "
        "exists.", ENGINEER, False),
    "MAPPING_TARGET_INVALID": _g(
        "The PSA company or contract a customer is mapped to does not exist, or is not an active recurring "
        "contract.", "Pick an existing company and an active recurring contract for the customer.", FINANCE,
        False),

    # -- Autotask -------------------------------------------------------------------------------------
    "AUTOTASK_AUTH_FAILED": _g(
        "Autotask refused the API user's credentials: the user name, the secret or the API tracking identifier "
        "(integration code) is wrong or was changed.",
        "Check the API user in Autotask (Admin → Resources (Users)): active, correct tracking identifier; "
        "generate a new secret if needed and update the Airflow connection; test it, then rerun.", PSA, True,
        "email"),
    "AUTOTASK_USER_LOCKED": _g(
        "The Autotask API user is locked (too many failed logins, or locked by an admin), so every call is "
        "refused.",
        "In Autotask, Admin → Resources (Users): edit the API user, uncheck Locked, Save & Close; then rerun. If "
        "it locks again, the stored secret is wrong.", PSA, True, "email"),
    "AUTOTASK_ZONE_UNKNOWN": _g(
        "Autotask could not tell which zone (data centre) the API user belongs to, so channelsync does not know "
        "where to send calls.",
        "Check the user name in the Airflow connection (it must be the API user's full user name) and that the "
        "user is an API user.", PSA, False),
    "AUTOTASK_THRESHOLD_EXCEEDED": _g(
        "The database's hourly API request threshold is used up; Autotask refuses calls from every integration "
        "until the hour rolls over.",
        "Wait for the window to reset (the endpoint health card shows the budget). Find which integrations use "
        "the most calls; spread their schedules or lower channelsync's threshold_share.", PSA, True, "email"),
    "AUTOTASK_THREAD_LIMIT": _g(
        "Autotask refused a call over its limit of three concurrent calls per entity and tracking identifier.",
        "Nothing if the retry succeeds; otherwise lower load.concurrency and check other tools using the same "
        "API user.", ENGINEER, True),
    "AUTOTASK_BUDGET_GUARD": _g(
        "channelsync stopped itself before using more than its share of the Autotask hourly threshold, so other "
        "integrations keep working. What was not sent is deferred to the next run.",
        "Nothing if the next run catches up. If it keeps deferring, raise threshold_share in the connection (if "
        "the tenant has headroom) or run large syncs at quiet hours.", ENGINEER, True),
    "AUTOTASK_DUPLICATE_SERVICE": _g(
        "Autotask refused the service because one with the same name already exists (a unique key on service "
        "names); it was probably created by hand or by another tool with the PC_ + SKU name.",
        "Rename or delete the conflicting service in Autotask and sync again; channelsync keeps using its own "
        "service afterwards.", PSA, True, "email"),
    "AUTOTASK_VALIDATION": _g(
        "Autotask refused the record because a field or a business rule does not allow it (the message names "
        "it).", "Read Autotask's message; fix the source data or the PSA setup it points to, then rerun.",
        PSA, False),
    "AUTOTASK_UNKNOWN_FIELD": _g(
        "A query named a field the Autotask entity does not have (an API version change, or a user-defined field "
        "that was removed).", "Report it to the channelsync operator with the message.", OPERATOR, False),
    "AUTOTASK_QUERY_INVALID": _g(
        "Autotask refused the query (its filter, MaxRecords or the limit on OR conditions).",
        "Report it to the channelsync operator with the message: the query must be split.", OPERATOR, False),
    "AUTOTASK_NOT_FOUND": _g(
        "The Autotask record does not exist (deleted, or not visible to the API user).",
        "Check the record in Autotask and the API user's line-of-business and security level; rerun.",
        PSA, True),
    "AUTOTASK_PERMISSION": _g(
        "The Autotask API user's security level does not allow this action (permission denied).",
        "Review the API user's security level: the modules the template needs (products and inventory, "
        "purchase orders, contracts and services), the line-of-business assignments, and Can login to Web "
        "Services API; then rerun.", PSA, True, "email"),
    "AUTOTASK_METHOD_NOT_ALLOWED": _g(
        "Autotask does not support this operation on the entity: a defect or an API change.",
        "Report it to the channelsync operator.", OPERATOR, False),
    "AUTOTASK_UNKNOWN_CATEGORY": _g(
        "The category the distributor category is mapped to is not a value of Autotask's product category "
        "picklist, so the product cannot be placed.",
        "Create the category in Autotask, or map the distributor category to an existing one (the template's "
        "category_map), then rerun.", PSA, True),
    "AUTOTASK_NO_BILLING_CODE": _g(
        "Autotask has no active Material billing code to attach new products to.",
        "Activate or create a Material billing code (Admin → Finance, Accounting & Invoicing), then rerun.",
        PSA, True),
    "AUTOTASK_PRODUCT_INCOMPLETE": _g(
        "A product was created but its TD SYNNEX vendor row or its stock was not written; channelsync looks the "
        "product up and completes it.", "Nothing if the next run completes it; otherwise read the item's error.",
        OPERATOR, True),
    "AUTOTASK_LOOKUP_FAILED": _g(
        "A product create may have reached Autotask but the answer was lost, and looking it up failed too; the "
        "outcome is still unknown, so it was not created again.",
        "Nothing: the next run looks it up again before deciding.", OPERATOR, True),
    "AUTOTASK_SERVICE_LOOKUP_FAILED": _g(
        "A service create may have reached Autotask but the answer was lost, and looking it up failed too; it "
        "was not created again.", "Nothing: the next run looks it up again first.", OPERATOR, True),
    "AUTOTASK_UNKNOWN_VENDOR": _g(
        "The product's vendor (manufacturer) has no company in Autotask to link it to.",
        "Create the vendor company in Autotask (or leave the vendor field out of the mapping), then rerun.",
        PSA, True),
    "AUTOTASK_NO_VENDOR": _g(
        "No Autotask company has the distributor's vendor name, so purchase orders cannot be recognised as "
        "TD SYNNEX orders.",
        "Create the vendor company for TD SYNNEX in Autotask (or fix its name), then rerun.", PSA, True),
    "AUTOTASK_UNKNOWN_PO_STATUS": _g(
        "A purchase-order status the template is configured with is not in Autotask's status picklist.",
        "Add the status to the picklist in Autotask, or change the template's status options.", ENGINEER, False),
    "AUTOTASK_NO_INVENTORY_LOCATION": _g(
        "No active Autotask inventory location has the configured name, so stock cannot be written.",
        "Create or activate the location in Autotask, or correct the template's inventory location.", PSA, False),
    "AUTOTASK_STOCK_NOT_CONFIGURED": _g(
        "Quantities were planned but no inventory location is configured, so stock was not written.",
        "Configure the inventory location in the template, or turn off inventory sync.", ENGINEER, False),

    # -- ConnectWise ----------------------------------------------------------------------------------
    "CW_AUTH_FAILED": _g(
        "ConnectWise refused the API keys (company id + public key : private key): wrong, expired or the API "
        "member is inactive.",
        "Check the API member in ConnectWise, create new keys if needed, update the Airflow connection, test it "
        "and rerun.", PSA, True, "email"),
    "CW_CLIENT_ID_MISSING": _g(
        "The clientId ConnectWise requires on every call is missing or not registered.",
        "Set the client_id extra of the connection to a clientId registered on the ConnectWise developer "
        "portal.", ENGINEER, False),
    "CW_FORBIDDEN": _g(
        "The API member's security role does not allow this action (permission denied).",
        "Grant the role the module access the template needs (procurement: products and purchase orders; "
        "finance: agreements), then rerun.", PSA, True, "email"),
    "CW_REQUIRED_FIELD": _g(
        "ConnectWise requires a field that was not given (NullField).",
        "Read the field the message names; fill it at the source or in the template options.", ENGINEER, False),
    "CW_FIELD_TOO_LONG": _g(
        "A value is longer than the ConnectWise field allows.",
        "Shorten it at the source; report it if channelsync should have cut it.", OPERATOR, False),
    "CW_DUPLICATE": _g(
        "A record with this unique value already exists in ConnectWise (ObjectExists), created by hand or by "
        "another tool.", "Rename or remove the existing record, or let channelsync link to it, then rerun.",
        PSA, True, "email"),
    "CW_REFERENCE_NOT_FOUND": _g(
        "A record the write refers to (subcategory, type, company, agreement…) does not exist in ConnectWise.",
        "Create it in ConnectWise or correct the mapping that names it, then rerun.", PSA, True),
    "CW_INVALID_OBJECT": _g(
        "ConnectWise refused the record as invalid (the message says which rule).",
        "Read the message; fix the data or the ConnectWise setup it names.", PSA, False),
    "CW_BAD_REQUEST": _g(
        "ConnectWise refused the request's conditions or parameters.",
        "Report it to the channelsync operator with the message.", OPERATOR, False),
    "CW_NOT_FOUND": _g(
        "The ConnectWise record or resource does not exist (deleted, or not visible to the API member).",
        "Check the record and the member's security role; rerun.", PSA, True),
    "CW_METHOD_NOT_ALLOWED": _g(
        "The ConnectWise resource does not support this method: a defect or an API change.",
        "Report it to the channelsync operator.", OPERATOR, False),
    "CW_CONFLICT": _g(
        "ConnectWise refused the change because the record is in use or conflicts with another (409).",
        "Check the record in ConnectWise (open in another screen, referenced elsewhere); rerun.", PSA, True),
    "CW_CODEBASE_DISCOVERY_FAILED": _g(
        "ConnectWise's company-info lookup returned no codebase for the company id, so the API address is "
        "unknown.", "Check the company id in the connection and the ConnectWise site address.", ENGINEER, False),
    "CW_UNKNOWN_PO_STATUS": _g(
        "A purchase-order status the template is configured with does not exist in ConnectWise.",
        "Create the status in ConnectWise (procurement setup), or change the template's status options.",
        ENGINEER, False),
    "CW_UNKNOWN_SUBCATEGORY": _g(
        "The category the distributor category is mapped to is not a ConnectWise procurement subcategory.",
        "Create the subcategory in ConnectWise or map to an existing one, then rerun.", PSA, True),
    "CW_UNKNOWN_VENDOR": _g(
        "The product's vendor has no company in ConnectWise to link it to.",
        "Create the vendor company in ConnectWise, then rerun.", PSA, True),
    "CW_NO_STOCK": _g(
        "ConnectWise catalog items have no writable on-hand quantity, so stock is not synced there.",
        "Turn off inventory sync for this integration.", ENGINEER, False),
    "CW_LOOKUP_FAILED": _g(
        "A catalog item create may have reached ConnectWise but the answer was lost, and looking it up failed "
        "too; it was not created again.", "Nothing: the next run looks it up first.", OPERATOR, True),
    "CW_SERVICE_LOOKUP_FAILED": _g(
        "A service item create may have reached ConnectWise but the answer was lost, and looking it up failed "
        "too; it was not created again.", "Nothing: the next run looks it up first.", OPERATOR, True),

    # -- TD SYNNEX ------------------------------------------------------------------------------------
    "TDS_AUTH_FAILED": _g(
        "TD SYNNEX refused the credentials (XML user and password, or the Ion access token).",
        "Check the login in the Airflow connection against the TD SYNNEX account; ask TD SYNNEX Digital Bridge "
        "support if the account was changed.", DISTRIBUTOR, True, "email"),
    "TDS_PERMISSION_DENIED": _g(
        "The Ion user may not access this account or resource.",
        "Ask TD SYNNEX to grant the user access to the reseller account, or use the right account id.",
        DISTRIBUTOR, False, "email"),
    "TDS_TOKEN_REUSED": _g(
        "Ion refused the refresh token (already used, expired or unknown). Ion tokens are single use; channelsync "
        "stores each new one before using it, so this means the stored one was lost or used elsewhere.",
        "Request new OAuth credentials in the TD SYNNEX StreamOne portal, put the refresh token in the connection "
        "and rerun; make sure no other tool uses the same credentials.", DISTRIBUTOR, False, "email"),
    "TDS_TOKEN_MISSING": _g(
        "No Ion refresh token is stored for the connection.",
        "Put a refresh token in the connection's refresh_token extra (from the StreamOne portal), then rerun.",
        ENGINEER, True),
    "TDS_ION_VALIDATION": _g(
        "Ion refused the order with validation errors (the message lists them).",
        "Correct the order as the errors say; ask TD SYNNEX support when an error is about their catalog or "
        "account.", DISTRIBUTOR, False),
    "TDS_ION_INVALID_REQUEST": _g(
        "Ion refused the request as invalid (400).", "Report it to the channelsync operator with the message.",
        OPERATOR, False),
    "TDS_ION_NOT_FOUND": _g(
        "The Ion resource (customer, subscription, product) does not exist.",
        "Check the id at TD SYNNEX; ask their support if it should exist.", DISTRIBUTOR, False),
    "TDS_ION_PRECONDITION": _g(
        "Ion refused the change because of the resource's current state (e.g. a subscription already being "
        "changed).", "Wait for the pending change to finish at TD SYNNEX, then rerun.", DISTRIBUTOR, True),
    "TDS_ION_BAD_RESPONSE": _g(
        "Ion answered with a body that is not what the call returns, so it was refused as a whole rather than "
        "half-read.", "Rerun; if it persists, send TD SYNNEX support the time and the call.", DISTRIBUTOR, True),
    "TDS_PNA_NOT_FOUND": _g(
        "TD SYNNEX does not know the SKU or part number asked for.",
        "Check the SKU in the PSA product; it may have been replaced by a new one at TD SYNNEX.", ENGINEER,
        False),
    "TDS_XML_MALFORMED": _g(
        "TD SYNNEX found the XML request incomplete or malformed.",
        "Report it to the channelsync operator with the message.", OPERATOR, False),
    "TDS_XML_ERROR": _g(
        "A TD SYNNEX XML service answered with an error of its own (the message quotes it).",
        "Read the message; if it is about the account or the catalog, contact TD SYNNEX Digital Bridge support "
        "with it.", DISTRIBUTOR, False),
    "TDS_XML_UNSAFE": _g(
        "A TD SYNNEX XML answer could not be parsed safely (broken, or carrying a DTD or entities), so it was "
        "refused.", "Rerun; if it persists, send TD SYNNEX support the time and the service.", DISTRIBUTOR, True),
    "TDS_XML_BAD_VALUE": _g(
        "A TD SYNNEX XML answer holds a value its element cannot hold (e.g. text where a price belongs), so it "
        "was not used.", "Send TD SYNNEX support the SKU or PO and the time.", DISTRIBUTOR, False),
    "TDS_PO_REJECTED": _g(
        "TD SYNNEX rejected the purchase order (the message gives their reason: address, SKU, credit, "
        "account).", "Correct the PO as the reason says and resubmit, or ask TD SYNNEX support about it.",
        DISTRIBUTOR, False, "email"),
    "TDS_PO_DUPLICATE": _g(
        "TD SYNNEX rejected the PO number as a duplicate: an order with that customer PO number exists already.",
        "Check whether the order was placed before (by hand or another tool); use a unique PO number prefix per "
        "integration on a shared account.", ENGINEER, False, "email"),
    "TDS_FLATFILE_MISSING": _g(
        "The daily catalog file is not on the TD SYNNEX FTP site (not generated yet, or the subscription "
        "lapsed).", "Rerun later in the day; if it stays missing, ask TD SYNNEX whether the price file "
        "subscription is active.", DISTRIBUTOR, True),
    "TDS_FLATFILE_CORRUPT": _g(
        "The daily catalog archive cannot be read (cut short, not a zip, or a bad checksum).",
        "Rerun (the download is repeated); if it persists, tell TD SYNNEX support.", DISTRIBUTOR, True),

    # -- Crayon (PRISM) and Pax8 ----------------------------------------------------------------------
    "CRAYON_AUTH_FAILED": _g(
        "Crayon refused the API client (client id and secret) or the user's credentials.",
        "Check the API client and user in Crayon Cloud-iQ, update the connection, test it and rerun.",
        DISTRIBUTOR, True, "email"),
    "CRAYON_NOT_FOUND": _g(
        "The Crayon record (organization, customer tenant, invoice) does not exist.",
        "Check the id at Crayon; the customer mapping may name an old tenant.", ENGINEER, False),
    "CRAYON_BAD_REQUEST": _g(
        "Crayon refused the request as invalid.", "Report it to the channelsync operator with the message.",
        OPERATOR, False),
    "CRAYON_BAD_RESPONSE": _g(
        "Crayon answered with a body that is not what the call returns; it was refused as a whole.",
        "Rerun; if it persists, contact Crayon support with the time and the call.", DISTRIBUTOR, True),
    "PAX8_AUTH_FAILED": _g(
        "Pax8 refused the client id, secret or audience.",
        "Check the API credentials in the Pax8 partner portal, update the connection, test it and rerun.",
        DISTRIBUTOR, True, "email"),
    "PAX8_NOT_FOUND": _g(
        "The Pax8 record (company, product, subscription, invoice) does not exist.",
        "Check the id in Pax8; the customer mapping may name an old company.", ENGINEER, False),
    "PAX8_VALIDATION_FAILED": _g(
        "Pax8 refused the request body.", "Report it to the channelsync operator with the message.", OPERATOR,
        False),
    "PAX8_BAD_RESPONSE": _g(
        "Pax8 answered with a body that is not what the call returns; it was refused as a whole.",
        "Rerun; if it persists, contact Pax8 support with the time and the call.", DISTRIBUTOR, True),

    # -- the shared HTTP client ----------------------------------------------------------------------
    "HTTP_OUTCOME_UNKNOWN": _g(
        "A write was sent but no answer came back (timeout, dropped connection, a 5xx after sending): it may or "
        "may not have been applied. channelsync never resends it blindly; the next attempt looks the record up "
        "first.", "Nothing: the retry settles it. If the target stays unreachable, see its endpoint health.",
        OPERATOR, True),
    "PAGINATION_LOOP": _g(
        "The API returned a page cursor it had returned before, so reading stopped instead of looping for ever.",
        "Rerun; if it persists, report the system and the call to the channelsync operator (the vendor's paging "
        "is broken).", OPERATOR, True),
}


def advice(code: str | None) -> Guidance:
    """The guidance for ``code``: its define() or catalog entry; a code nobody defined (an exception's class
    name, a template's test code) gets the unexpected-error guidance, so an alert never shows blanks."""
    if code:
        definition = CATALOG.get(code)
        found = definition.advice() if definition is not None else GUIDANCE.get(code)
        if found is not None:
            return found
    return GUIDANCE[UNEXPECTED_ERROR]


def definition(code: str | None) -> ErrorCode | None:
    return CATALOG.get(code) if code else None


# -- every code the engine can raise -------------------------------------------------------------------

PACKAGE_ROOT = Path(__file__).resolve().parent
_DECLARES = re.compile(r"\bdefine(?:_transport_codes)?\(")
_SKIP = ("sandbox",)  # the emulators raise no production codes


def declaring_modules() -> list[str]:
    """Every module of the package that declares a code (found by reading the sources)."""
    modules = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        relative = path.relative_to(PACKAGE_ROOT)
        if relative.parts[0] in _SKIP or not _DECLARES.search(path.read_text(encoding="utf-8")):
            continue
        parts = ["channelsync", *relative.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules.append(".".join(parts))
    return modules


@lru_cache(maxsize=1)
def load_definitions() -> dict[str, ErrorCode]:
    """Import every declaring module, so :data:`channelsync.errors.CATALOG` holds every code."""
    for name in declaring_modules():
        try:
            importlib.import_module(name)
        except Exception:  # one broken module must not hide the rest of the catalog
            log.warning("error catalog: could not import %s", name, exc_info=True)
    return CATALOG
