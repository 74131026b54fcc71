import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidArgumentError, MsdError } from '@msd/core';

describe('MsdError', () => {
  it('carries code, hint and cause and appends the hint to the message', () => {
    const cause = new Error('disk');
    const error = new MsdError({ code: 'x', message: 'Broke.', hint: 'Do y.', cause });
    expect(error.code).toBe('x');
    expect(error.message).toBe('Broke. Do y.');
    expect(error.hint).toBe('Do y.');
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(Error);
  });

  it('recognises instances by marker, including from another copy of the class', () => {
    const error = new InvalidArgumentError({ argument: 'a', message: 'bad a' });
    expect(MsdError.isInstance(error)).toBe(true);
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect(ConfigError.isInstance(error)).toBe(false);
    // An object made by a duplicate install has the same Symbol.for markers.
    const foreign = { [Symbol.for('msd.error')]: true, [Symbol.for('msd.error.ConfigError')]: true };
    expect(ConfigError.isInstance(foreign)).toBe(true);
    expect(MsdError.isInstance(new Error('plain'))).toBe(false);
    expect(MsdError.isInstance(null)).toBe(false);
  });

  it('prefixes config errors with their path', () => {
    const error = new ConfigError({ path: 'config.json', message: 'bad', hint: 'fix it' });
    expect(error.message).toBe('config.json: bad fix it');
    expect(error.code).toBe('invalid_config');
    expect(error.name).toBe('ConfigError');
  });
});
