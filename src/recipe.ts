/**
 * The recipe a computed key records in its metadata.json (`isfdb_recipe`, a field Python ISF
 * ignores): its schema as stored. Read by lineage.ts (staleness) and history.ts (diffs).
 */
import type { z } from 'zod';
import { lazySchema, type MetadataJson } from './ondisk.js';

/** metadata.json field holding the recipe of a computed key. */
export const RECIPE_FIELD = 'isfdb_recipe';

const recipeSchema = lazySchema((z) => z.looseObject({
  hash: z.string(),
  params: z.unknown().optional(),
  code: z.string().nullable(),
  inputs: z.array(z.looseObject({ key: z.array(z.string()), checksum: z.string(), folder: z.string() })),
}));
/** `isfdb_recipe` as stored (snake_case JSON). */
export type RecipeJson = z.infer<typeof recipeSchema>;

/** The recipe recorded in a key's metadata, or undefined. */
export function recipeOf(meta: MetadataJson): RecipeJson | undefined {
  const parsed = recipeSchema.safeParse((meta as Record<string, unknown>)[RECIPE_FIELD]);
  return parsed.success ? parsed.data : undefined;
}

