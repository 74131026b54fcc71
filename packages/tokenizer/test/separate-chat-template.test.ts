import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@msd/core';
import { Tokenizer } from '@msd/tokenizer';
import { readFixtureFiles } from './helpers';

/** transformers >= 4.43 saves a processor's chat template beside tokenizer_config.json. */
function directoryWith(extra: Record<string, string>, template?: string): string {
  const directory = mkdtempSync(join(tmpdir(), 'msd-chat-template-'));
  const { tokenizerJson, tokenizerConfig } = readFixtureFiles();
  const config: Record<string, unknown> = { ...tokenizerConfig };
  delete config.chat_template;
  if (template !== undefined) config.chat_template = template;
  writeFileSync(join(directory, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  writeFileSync(join(directory, 'tokenizer_config.json'), JSON.stringify(config));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(directory, name), text);
  return directory;
}

describe('chat templates saved beside the tokenizer', () => {
  it('reads chat_template.jinja (transformers 5)', async () => {
    const tokenizer = await Tokenizer.fromDirectory(directoryWith({ 'chat_template.jinja': "{{ 'A' }}" }));
    expect(tokenizer.chatTemplate).toBe("{{ 'A' }}");
  });

  it('reads chat_template.json (transformers 4.43-4.57)', async () => {
    const tokenizer = await Tokenizer.fromDirectory(directoryWith({ 'chat_template.json': JSON.stringify({ chat_template: "{{ 'B' }}" }) }));
    expect(tokenizer.chatTemplate).toBe("{{ 'B' }}");
  });

  it("keeps tokenizer_config.json's own template when it has one", async () => {
    const tokenizer = await Tokenizer.fromDirectory(directoryWith({ 'chat_template.jinja': "{{ 'A' }}" }, "{{ 'C' }}"));
    expect(tokenizer.chatTemplate).toBe("{{ 'C' }}");
  });

  it('names a malformed chat_template.json', async () => {
    const directory = directoryWith({ 'chat_template.json': JSON.stringify({ template: 1 }) });
    const error = await Tokenizer.fromDirectory(directory).catch((cause: unknown) => cause);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).message).toContain('chat_template.json');
  });
});
