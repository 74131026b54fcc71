/**
 * A short description of any value for error messages: a string in quotes (cut at 40 characters), otherwise
 * its type and, for small values, the value itself.
 * Never throws (a template literal throws on a symbol) and never prints more than a few dozen characters
 * of a hostile string: what every msd error message uses to say what it got.
 *
 * @example
 * ```ts
 * import { describeValue } from '@msd/core';
 *
 * describeValue(42); // 'the number 42'
 * describeValue(null); // 'null'
 * describeValue('x'.repeat(100)); // '"xxxx...x..."' (40 characters, then ...)
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
    case 'number':
    case 'boolean':
      return `the ${typeof value} ${String(value)}`;
    case 'bigint':
      return `the bigint ${String(value)}n`;
    case 'object':
      return describeObject(value as object);
    default:
      return `a ${typeof value}`;
  }
}

function describeObject(value: object): string {
  const prototype = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) return 'an object';
  return `a ${(prototype as { constructor?: { name?: string } }).constructor?.name || 'class instance'} object`;
}
