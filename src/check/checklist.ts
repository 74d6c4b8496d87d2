// The ETSI GS QKD 014 checklist (shared/ETSI014.md, C1…C44), defined once: what each item promises, and
// whether the black-box checker judges it (its conformance phase) or only the contract suite can (it runs
// kmesim's own KME from the inside). The checker's report and the contract suite's test names both cite
// these IDs; test/http/contract/etsiContract.ts fails when a test cites an ID that is not here.
export const CHECKLIST = {
  C1: { title: 'an identity that maps to no SAE, or no identity at all, is refused (header mode)', checker: true },
  C2: { title: 'the SAE ID comes from the certificate (mTLS) or the configured header, never from the body', checker: false, why: "the caller's identity is configured out of band: a black-box checker sends what its target file says" },
  C3: { title: 'responses are application/json UTF-8', checker: true },
  C4: { title: 'SAE IDs in the path are percent-decoded', checker: true },
  C9: { title: 'status has the eleven mandatory items with the right JSON types', checker: true },
  C10: { title: 'status names the caller as master and the path SAE as slave', checker: true },
  C11: { title: "status names the KME called as source and the slave's KME as target", checker: true },
  C12: { title: 'min_key_size ≤ key_size ≤ max_key_size and stored_key_count ≤ max_key_count', checker: true },
  C14: { title: 'stored_key_count is what enc_keys can deliver', checker: true },
  C15: { title: 'an unknown slave SAE is refused (400, 401 or 404)', checker: true },
  C16: { title: '{} and GET without query each give one key of key_size bits (a bodyless POST too, or a 400)', checker: true },
  C17: { title: 'number=n gives exactly n keys', checker: true },
  C18: { title: 'keys are padded standard base64 of exactly size/8 bytes', checker: true },
  C19: { title: 'key_IDs are canonical UUIDs and never repeat', checker: true },
  C20: { title: 'GET enc_keys with number and size equals the matching POST', checker: true },
  C21: { title: 'a size that is not a multiple of 8 gets 400 with spec string 1', checker: true },
  C22: { title: 'a size outside [min_key_size, max_key_size] gets 400', checker: true },
  C23: { title: 'number ≤ 0, > max_key_per_request or not an integer gets 400', checker: true },
  C24: { title: 'malformed JSON or a non-object body gets 400 with an Error body', checker: true },
  C25: { title: 'an unsupported extension_mandatory gets 400 with spec string 2', checker: true },
  C26: { title: 'a supported but unmeetable extension_mandatory gets 400 with spec string 3', checker: true },
  C27: { title: 'an unknown extension_optional gets 200 (or 400 with spec string 4)', checker: true },
  C28: { title: 'too many, duplicate, master or slave additional_slave_SAE_IDs get 400; no SAE is its own slave', checker: true },
  C29: { title: 'every additional slave retrieves the identical key', checker: true },
  C30: { title: 'a delivered key is never delivered by enc_keys again', checker: true },
  C31: { title: 'not enough keys is refused (503, or 400/404) and delivers nothing', checker: true },
  C32: { title: 'a server-side failure (remote down and pool empty, storage failure) is 503, never 500', checker: false, why: "a black-box checker cannot make the target's storage or remote fail; the checker reports any 5xx other than 503 under C42" },
  C33: { title: 'the slave retrieves the identical key_ID and bytes', checker: true },
  C34: { title: 'dec_keys returns every requested ID (in any order); GET ?key_ID= works', checker: true },
  C35: { title: 'a caller not named as slave gets 401 and nothing is consumed', checker: true },
  C36: { title: "an unknown, consumed or other master's key ID gets 400 with spec string 5", checker: true },
  C37: { title: 'a retrieved key cannot be retrieved again, not even by concurrent requests on both KMEs', checker: true },
  C38: { title: 'a failed dec_keys consumes nothing', checker: true },
  C39: { title: 'missing, empty, non-array or non-UUID key_IDs get 400', checker: true },
  C41: { title: 'error bodies are JSON objects with a string message and object details', checker: true },
  C42: { title: 'only 200, 400, 401 and 503 are API outcomes (404 where something named does not exist)', checker: true },
  C43: { title: "the spec's fixed error strings match exactly", checker: true },
  C44: { title: 'optional *_extension members are objects when present, never null', checker: true },
} as const satisfies Record<string, { readonly title: string; readonly checker: boolean; readonly why?: string }>;

export type ChecklistItem = keyof typeof CHECKLIST;

/** The items the checker judges, in checklist order. */
export const CHECKER_ITEMS = (Object.keys(CHECKLIST) as ChecklistItem[]).filter((item) => CHECKLIST[item].checker);

export function isChecklistItem(id: string): id is ChecklistItem {
  return Object.hasOwn(CHECKLIST, id);
}
