#!/usr/bin/env python3
"""The web shop of bench/threat/webshop.yaml, written for OWASP pytm (pip install pytm).

The same elements, boundaries, data and flows, and the same controls where pytm has one:

  Palisade                                  pytm
  authentication (on the process)           controls.authenticatesSource, implementsAuthenticationScheme
  authorization: owner                      controls.authorizesSource, hasAccessControl
  input_validation                          controls.validatesInput, sanitizesInput
  output_encoding                           controls.encodesOutput
  parameterized_queries                     controls.usesParameterizedInput
  csrf_protection                           controls.implementsCSRFToken
  session_management                        controls.usesStrongSessionIdentifiers, verifySessionIdentifiers
  renders_html                              allowsClientSideScripting (the pages run scripts)
  secrets_storage: environment              usesEnvironmentVariables
  encryption_at_rest                        controls.isEncryptedAtRest
  protocol https / postgres                 protocol, controls.isEncrypted
  signed_requests                           controls.providesIntegrity
  authentication on a flow                  controls.authenticatesSource on the flow
  bidirectional: true                       a response flow (isResponse, responseTo)
  pii / credentials on an asset             Data(isPII=..., isCredentials=...)

Run as pytm scripts are: python3 webshop_pytm.py --json out.json (or --report, --dfd).
"""

from pytm import TM, Actor, Boundary, Classification, Data, Dataflow, Datastore, ExternalEntity, Server

tm = TM("Web shop")
tm.description = "The public web shop, its order database and the card payment provider."
tm.isOrdered = False

internet = Boundary("Internet")
cloud = Boundary("Shop cloud account")
data_subnet = Boundary("Database subnet")
data_subnet.inBoundary = cloud
provider = Boundary("Payment provider's network")

accounts = Data("Customer accounts", classification=Classification.SENSITIVE, isPII=True)
orders = Data("Orders", classification=Classification.RESTRICTED, isPII=True)
card_data = Data("Card data", classification=Classification.TOP_SECRET)
sessions = Data("Session tokens", classification=Classification.SENSITIVE, isCredentials=True)
payment_key = Data("Payment API key", classification=Classification.TOP_SECRET, isCredentials=True)

customer = Actor("Customer (browser)")
customer.inBoundary = internet

web = Server("Shop web application")
web.inBoundary = cloud
web.usesSessionTokens = True
web.allowsClientSideScripting = True
web.usesEnvironmentVariables = True
web.controls.authenticatesSource = True
web.controls.implementsAuthenticationScheme = True
web.controls.authorizesSource = True
web.controls.hasAccessControl = True
web.controls.validatesInput = True
web.controls.sanitizesInput = True
web.controls.encodesOutput = True
web.controls.usesParameterizedInput = True
web.controls.implementsCSRFToken = True
web.controls.usesStrongSessionIdentifiers = True
web.controls.verifySessionIdentifiers = True

db = Datastore("Shop database")
db.inBoundary = data_subnet
db.isSQL = True
db.storesPII = True
db.storesSensitiveData = True
db.hasWriteAccess = True
db.controls.isEncryptedAtRest = True

payments = ExternalEntity("Card payment provider")
payments.inBoundary = provider


def flow(source, sink, name, protocol, encrypted, data, authenticated=False, integrity=False):
    f = Dataflow(source, sink, name)
    f.protocol = protocol
    f.controls.isEncrypted = encrypted
    f.controls.authenticatesSource = authenticated
    f.controls.providesIntegrity = integrity
    f.data = data
    return f


def response(to):
    """The other direction of a request: Palisade's `bidirectional: true`."""
    r = Dataflow(to.sink, to.source, f"{to.name} (response)")
    r.protocol = to.protocol
    r.controls.isEncrypted = to.controls.isEncrypted
    r.isResponse = True
    r.responseTo = to
    r.data = to.data
    return r


browse = flow(customer, web, "Browse and order", "HTTPS", True, [accounts, orders, card_data, sessions])
browse.usesSessionTokens = True
response(browse)
store = flow(web, db, "Store and read orders", "PostgreSQL", False, [accounts, orders], authenticated=True)
response(store)
charge = flow(web, payments, "Charge the card", "HTTPS", True, [card_data, payment_key, orders], authenticated=True)
response(charge)
flow(payments, web, "Payment result", "HTTPS", True, [orders], integrity=True)

if __name__ == "__main__":
    tm.process()
