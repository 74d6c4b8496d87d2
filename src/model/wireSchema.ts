// The ETSI GS QKD 014 V1.1.1 data formats (§6), defined once. Validation, response shaping,
// arbitraries and the OpenAPI document all derive from these schemas.
import { z } from 'zod';

/** The exact strings the specification fixes for 400 responses. */
export const SPEC_ERROR = {
  sizeNotMultipleOf8: 'size shall be a multiple of 8',
  extensionMandatoryUnsupported: 'not all extension_mandatory parameters are supported',
  extensionMandatoryUnmet: 'not all extension_mandatory request options could be met',
  extensionOptionalUnhandled: 'not all extension_optional request options handled',
  keysNotFound: 'one or more keys specified are not found on KME',
} as const;

const extensionObject = z.record(z.string(), z.unknown());
const extensionList = z.array(extensionObject);

export const statusSchema = z
  .object({
    source_KME_ID: z.string(),
    target_KME_ID: z.string(),
    master_SAE_ID: z.string(),
    slave_SAE_ID: z.string(),
    key_size: z.number().int(),
    stored_key_count: z.number().int(),
    max_key_count: z.number().int(),
    max_key_per_request: z.number().int(),
    max_key_size: z.number().int(),
    min_key_size: z.number().int(),
    max_SAE_ID_count: z.number().int(),
    status_extension: extensionObject.optional(),
  })
  .meta({ id: 'Status' });
export type Status = z.infer<typeof statusSchema>;

// Integers arrive from JSON as numbers; anything else (strings, fractions) is a format error (C23).
export const keyRequestSchema = z
  .object({
    number: z.number().int().optional(),
    size: z.number().int().optional(),
    additional_slave_SAE_IDs: z.array(z.string()).optional(),
    extension_mandatory: extensionList.optional(),
    extension_optional: extensionList.optional(),
  })
  .meta({ id: 'KeyRequest' });
export type KeyRequest = z.infer<typeof keyRequestSchema>;

/**
 * The schema library never copies a `__proto__` member into what it parses (its guard against prototype
 * pollution), so a mandatory extension of that name would vanish and the request be served as if it were
 * not there. This puts such names back, as own members of a prototype-less copy, so that the core refuses
 * them like any other unsupported mandatory extension (C25). Returns `parsed` itself when nothing was dropped.
 */
export function keepMandatoryExtensionNames(raw: unknown, parsed: KeyRequest): KeyRequest {
  const sources = typeof raw === 'object' && raw !== null ? (raw as { extension_mandatory?: unknown }).extension_mandatory : undefined;
  const extensions = parsed.extension_mandatory;
  if (!Array.isArray(sources) || extensions === undefined) return parsed;
  let changed = false;
  const kept = extensions.map((extension, index) => {
    const dropped = Object.getOwnPropertyDescriptor(sources[index] ?? {}, '__proto__');
    if (dropped === undefined) return extension;
    changed = true;
    const copy: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    Object.defineProperty(copy, '__proto__', { value: dropped.value, enumerable: true, writable: true, configurable: true });
    return Object.assign(copy, extension);
  });
  return changed ? { ...parsed, extension_mandatory: kept } : parsed;
}

export const keySchema = z
  .object({
    key_ID: z.string(),
    key_ID_extension: extensionObject.optional(),
    key: z.string(),
    key_extension: extensionObject.optional(),
  })
  .meta({ id: 'Key' });

export const keyContainerSchema = z
  .object({
    keys: z.array(keySchema),
    key_container_extension: extensionObject.optional(),
  })
  .meta({ id: 'KeyContainer' });
export type KeyContainer = z.infer<typeof keyContainerSchema>;

export const keyIdsSchema = z
  .object({
    key_IDs: z
      .array(
        z.object({
          key_ID: z.string(),
          key_ID_extension: extensionObject.optional(),
        }),
      )
      .min(1),
    key_IDs_extension: extensionObject.optional(),
  })
  .meta({ id: 'KeyIDs' });
export type KeyIds = z.infer<typeof keyIdsSchema>;

export const errorSchema = z
  .object({
    message: z.string(),
    details: z.array(extensionObject).optional(),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof errorSchema>;

/** Describes why a wire value failed its schema, as ETSI `details` entries. */
export function describeSchemaIssues(error: z.ZodError): Array<Record<string, unknown>> {
  return error.issues.slice(0, 8).map((issue) => ({
    parameter: issue.path.length === 0 ? '(body)' : issue.path.join('.'),
    error: issue.message,
  }));
}
