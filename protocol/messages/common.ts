import { z } from 'zod';
import { fieldLimits as limits } from '../limits.js';

/**
 * Building blocks shared by the scheduler and agent messages. Field names follow Mesos v1
 * (snake_case), so the JSON scheduler API and the CBOR envelopes validate with the same schemas.
 * Every object is strict (unknown fields are refused), every string and array is bounded.
 */

export const text = (charsMax: number) => z.string().max(charsMax);
export const nonEmptyText = (charsMax: number) => z.string().min(1).max(charsMax);
export const list = <T extends z.ZodType>(item: T, itemsMax: number) => z.array(item).max(itemsMax);

/** Opaque bytes travel as base64 text (as in Mesos's JSON API) in both encodings. */
export const base64Bytes = (bytesMax: number) => z.base64().max(Math.ceil(bytesMax / 3) * 4);

export const naturalNumber = (max: number) => z.number().int().min(0).max(max);
export const boundedNumber = (max: number) => z.number().min(-max).max(max);

/** Mesos ids (`FrameworkID`, `AgentID`, `TaskID`, `OfferID`, `ExecutorID`): `{ value }`. */
export const Id = z.strictObject({ value: nonEmptyText(limits.idCharsMax) });
export type Id = z.infer<typeof Id>;

/** Mesos Label/Labels. */
export const Label = z.strictObject({
  key: nonEmptyText(limits.nameCharsMax),
  value: text(limits.textCharsMax).optional(),
});
export const Labels = z.strictObject({ labels: list(Label, limits.labelsMax) });
export type Labels = z.infer<typeof Labels>;

/** Mesos Value.Scalar (Mesos keeps three decimal places; resource math checks the sign). */
export const Scalar = z.strictObject({ value: boundedNumber(limits.scalarMax) });
export const Range = z.strictObject({
  begin: naturalNumber(Number.MAX_SAFE_INTEGER),
  end: naturalNumber(Number.MAX_SAFE_INTEGER),
});
export const Ranges = z.strictObject({ range: list(Range, limits.rangesMax) });
export const ValueSet = z.strictObject({
  item: list(text(limits.textCharsMax), limits.setItemsMax),
});
export const TextValue = z.strictObject({ value: text(limits.textCharsMax) });

export const valueTypes = ['SCALAR', 'RANGES', 'SET', 'TEXT'] as const;
export const ValueType = z.enum(valueTypes);

/** Mesos Resource.ReservationInfo (the refined, v1 form). */
export const ReservationInfo = z.strictObject({
  type: z.enum(['STATIC', 'DYNAMIC']).optional(),
  role: text(limits.roleCharsMax).optional(),
  principal: text(limits.nameCharsMax).optional(),
  labels: Labels.optional(),
});

/** Mesos Resource; `cpus`, `mem` (MB), `disk` (MB), `ports` and our `fuel` are the usual names. */
export const Resource = z.strictObject({
  name: nonEmptyText(limits.nameCharsMax),
  type: ValueType,
  scalar: Scalar.optional(),
  ranges: Ranges.optional(),
  set: ValueSet.optional(),
  role: text(limits.roleCharsMax).optional(),
  reservations: list(ReservationInfo, limits.rolesMax).optional(),
  allocation_info: z.strictObject({ role: text(limits.roleCharsMax).optional() }).optional(),
});
export type Resource = z.infer<typeof Resource>;

/** Mesos Attribute (agent properties such as `rack:r1`). */
export const Attribute = z.strictObject({
  name: nonEmptyText(limits.nameCharsMax),
  type: ValueType,
  scalar: Scalar.optional(),
  ranges: Ranges.optional(),
  set: ValueSet.optional(),
  text: TextValue.optional(),
});
export type Attribute = z.infer<typeof Attribute>;

export const runtimes = ['wasm', 'linux'] as const;
export const Runtime = z.enum(runtimes);
export type Runtime = z.infer<typeof Runtime>;
