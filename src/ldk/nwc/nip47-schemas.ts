// NIP-47 payloads as zod schemas, parsed once where they arrive. Objects are loose (a wallet may add fields,
// Alby Hub adds metadata and settle_deadline) but every field we read has its type checked: a response that
// does not parse is ignored, as if it had never come.
import { z } from 'zod';

const msat = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const seconds = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const height = z
  .number()
  .int()
  .nonnegative()
  .max(2 ** 32 - 1);
const hex32 = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/)
  .transform((value) => value.toLowerCase());
/** Alby Hub writes "" and null for fields that have no value yet; both read as absent. */
const optionalText = z
  .string()
  .nullish()
  .transform((value) => (value === '' || value === null ? undefined : value));

export const errorSchema = z.object({
  code: z.string().min(1).max(64),
  message: z
    .string()
    .max(4096)
    .nullish()
    .transform((value) => value ?? ''),
});

/** { result_type, error, result }: exactly one of error and result carries something. */
export const responseSchema = z
  .object({
    result_type: z.string().min(1).max(64),
    error: errorSchema.nullish(),
    result: z.unknown().optional(),
  })
  .refine((response) => (response.error ? true : response.result !== undefined && response.result !== null), {
    message: 'a response needs an error or a result',
  });

export const requestSchema = z.object({
  method: z.string().min(1).max(64),
  params: z
    .record(z.string(), z.unknown())
    .nullish()
    .transform((value) => value ?? {}),
});

export const transactionSchema = z.object({
  type: z.enum(['incoming', 'outgoing']),
  state: z.string().max(32).optional(),
  invoice: optionalText,
  description: optionalText,
  preimage: optionalText,
  payment_hash: hex32,
  amount: msat,
  fees_paid: msat.nullish(),
  created_at: seconds,
  expires_at: seconds.nullish(),
  settled_at: seconds.nullish(),
  settle_deadline: height.nullish(),
  // Extensions of our sandbox service (nip47.ts EXTENSION_FIELDS); absent elsewhere.
  htlc_expiry_height: height.nullish(),
  amount_received: msat.nullish(),
  cancel_reason: z.string().max(32).nullish(),
  failure_reason: z.string().max(32).nullish(),
});
export type Nip47Transaction = z.infer<typeof transactionSchema>;

export const listTransactionsSchema = z.object({ transactions: z.array(transactionSchema) });

export const getInfoSchema = z.object({
  pubkey: z.string().max(200).optional(),
  network: z.string().max(32).optional(),
  block_height: height.optional(),
  methods: z.array(z.string().max(64)).optional(),
  notifications: z.array(z.string().max(64)).optional(),
});
export type Nip47Info = z.infer<typeof getInfoSchema>;

export const getBalanceSchema = z.object({ balance: msat, max_receivable: msat.nullish() });

export const payResultSchema = z.object({
  preimage: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/)
    .transform((value) => value.toLowerCase()),
  fees_paid: msat.nullish(),
});

export const emptyResultSchema = z.object({});

export const notificationSchema = z.object({
  notification_type: z.string().min(1).max(64),
  notification: z.unknown(),
});
