/**
 * DraftState's deferred prefill (DraftState.deferred) against the eager one (DraftState.start): the
 * same draft cache, root and trees after any number of plain steps, and no draft call before a tree.
 */
import { describe, expect, it } from 'vitest';
import { DraftState, type DraftStart } from '@msd/draft';
import { FakeDraftRunner } from './fake-draft-runner';
import { makeTags, rows } from './helpers';

const HIDDEN = 4;
const TREE = { depth: 4, branching: 2, totalTokens: 8 };

/** A prompt of 7 positions whose positions 2..4 are one image, and the target's first token. */
function imagePrompt(): DraftStart {
  return {
    ids: [1, 2, 500, 500, 500, 6, 7],
    tags: makeTags(7, [{ start: 2, length: 3, imageIndex: 0 }]),
    targetHidden: rows(7, HIDDEN, 0.125),
    imageFeatures: rows(3, HIDDEN, 0.5),
    firstToken: 33,
  };
}

/** The target's plain steps after the first token: tokens and hidden rows at positions 7, 8, ... */
const PLAIN = [
  { token: 41, hidden: rows(1, HIDDEN, 0.25) },
  { token: 12, hidden: rows(1, HIDDEN, 0.75) },
  { token: 58, hidden: rows(1, HIDDEN, 1.5) },
];

async function draftAfterPlainSteps(state: DraftState<unknown>, steps: number) {
  PLAIN.slice(0, steps).forEach((step, index) => state.recordPlainStep(7 + index, step.token, step.hidden));
  return (await state.draft(TREE)).tree;
}

describe('DraftState.deferred', () => {
  it.each([0, 1, 3])('after %i plain step(s) drafts the tree the eager prefill drafts, from the same cache', async (steps) => {
    const eagerRunner = new FakeDraftRunner(HIDDEN);
    const eager = await DraftState.start(eagerRunner, eagerRunner.emptyCache(), imagePrompt());
    const eagerTree = await draftAfterPlainSteps(eager as DraftState<unknown>, steps);

    const deferredRunner = new FakeDraftRunner(HIDDEN);
    const deferred = DraftState.deferred(deferredRunner, imagePrompt());
    expect(deferred.root).toBeUndefined();
    const deferredTree = await draftAfterPlainSteps(deferred as DraftState<unknown>, steps);

    expect(deferredTree).toEqual(eagerTree);
    expect(deferred.root).toEqual(eager.root);
    // One call instead of the prefill and the catch-up; the cache it leaves holds the same entries,
    // each having seen the same ones.
    const committed = (runner: FakeDraftRunner) => {
      const firstTreeCall = runner.calls.find((call) => call.input.topkRows !== 'last')!;
      return runner.created.find((cache) => cache.id === firstTreeCall.cacheIn)!;
    };
    expect(deferredRunner.calls.filter((call) => call.input.topkRows === 'last')).toHaveLength(1);
    expect(deferredRunner.calls[0]!.input.inputIds).toHaveLength(7 + steps);
    expect(committed(deferredRunner).entries).toHaveLength(7 + steps);
    expect(committed(deferredRunner).entries).toEqual(committed(eagerRunner).entries);
    expect(committed(deferredRunner).visible).toEqual(committed(eagerRunner).visible);

    // A verified step commits the same way on both.
    const hidden = rows(2, HIDDEN, 2);
    await eager.commit(7 + steps, [eagerTree.tokens[1]!, 9], hidden);
    await deferred.commit(7 + steps, [deferredTree.tokens[1]!, 9], hidden);
    expect(deferred.root).toEqual(eager.root);
    eager.dispose();
    deferred.dispose();
  });

  it('makes no draft call and no cache until the first tree', () => {
    const runner = new FakeDraftRunner(HIDDEN);
    let emptyCaches = 0;
    runner.emptyCache = () => {
      emptyCaches++;
      return { id: 0, entries: [], visible: [] };
    };
    const state = DraftState.deferred(runner, imagePrompt());
    for (const [index, step] of PLAIN.entries()) state.recordPlainStep(7 + index, step.token, step.hidden);
    state.dispose();
    expect(runner.calls).toHaveLength(0);
    expect(runner.releases.size).toBe(0);
    expect(emptyCaches).toBe(0);
  });
});
