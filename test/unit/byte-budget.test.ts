// ByteBudget: the byte-counted semaphore that bounds how much file data the sync holds at once.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { ByteBudget } from '../../src/util/byte-budget.js';

/** Lets every queued microtask and promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** An acquire whose progress can be looked at without awaiting it. */
function track(promise: Promise<() => void>) {
  const state: { release?: () => void; error?: unknown; done: boolean } = { done: false };
  promise.then(
    (release) => {
      state.release = release;
      state.done = true;
    },
    (error: unknown) => {
      state.error = error;
      state.done = true;
    },
  );
  return state;
}

describe('ByteBudget', () => {
  it('grants at once what fits and counts it in inUse', async () => {
    const budget = new ByteBudget(100);
    assert.equal(budget.capacity, 100);
    assert.equal(budget.inUse, 0);
    const a = await budget.acquire(30);
    const b = await budget.acquire(70);
    assert.equal(budget.inUse, 100);
    a();
    assert.equal(budget.inUse, 70);
    b();
    assert.equal(budget.inUse, 0);
  });

  it('grants zero bytes at once, even when full', async () => {
    const budget = new ByteBudget(10);
    const all = await budget.acquire(10);
    const none = await budget.acquire(0);
    assert.equal(budget.inUse, 10);
    none();
    all();
    assert.equal(budget.inUse, 0);
  });

  it('makes a request wait until enough is released', async () => {
    const budget = new ByteBudget(100);
    const first = await budget.acquire(80);
    const waiter = track(budget.acquire(40));
    await settle();
    assert.equal(waiter.done, false);
    assert.equal(budget.inUse, 80);
    first();
    await settle();
    assert.equal(waiter.done, true);
    assert.equal(budget.inUse, 40);
    waiter.release!();
    assert.equal(budget.inUse, 0);
  });

  it('is FIFO: a large waiter is not overtaken by later small ones that would fit', async () => {
    const budget = new ByteBudget(100);
    const held = await budget.acquire(60);
    const order: string[] = [];
    const large = budget.acquire(80).then((release) => (order.push('large'), release));
    // 10 bytes would fit next to the 60 held, but the large request came first.
    const small1 = budget.acquire(10).then((release) => (order.push('small1'), release));
    const small2 = budget.acquire(10).then((release) => (order.push('small2'), release));
    await settle();
    assert.deepEqual(order, []);
    assert.equal(budget.inUse, 60);

    held();
    await settle();
    // The large one goes first; both small ones fit beside it (80 + 10 + 10 = 100) and follow in order.
    assert.deepEqual(order, ['large', 'small1', 'small2']);
    assert.equal(budget.inUse, 100);
    for (const release of await Promise.all([large, small1, small2])) release();
    assert.equal(budget.inUse, 0);
  });

  it('wakes waiters in order only as far as they fit', async () => {
    const budget = new ByteBudget(100);
    const held = await budget.acquire(100);
    const a = track(budget.acquire(50));
    const b = track(budget.acquire(60));
    const c = track(budget.acquire(10));
    held();
    await settle();
    // a fits; b (60) does not beside a (50), and c waits behind b even though it would fit.
    assert.deepEqual([a.done, b.done, c.done], [true, false, false]);
    assert.equal(budget.inUse, 50);
    a.release!();
    await settle();
    assert.deepEqual([b.done, c.done], [true, true]);
    assert.equal(budget.inUse, 70);
    b.release!();
    c.release!();
    assert.equal(budget.inUse, 0);
  });

  it('lets a request larger than the capacity through once nothing is held, counting it as the whole capacity', async () => {
    const budget = new ByteBudget(100);
    const small = await budget.acquire(1);
    const huge = track(budget.acquire(1000));
    await settle();
    assert.equal(huge.done, false, 'a request larger than the budget must wait while anything is held');
    small();
    await settle();
    assert.equal(huge.done, true);
    assert.equal(budget.inUse, 100);

    // While it is held nothing else gets in; released, the budget is whole again.
    const next = track(budget.acquire(1));
    await settle();
    assert.equal(next.done, false);
    huge.release!();
    await settle();
    assert.equal(next.done, true);
    assert.equal(budget.inUse, 1);
    next.release!();
    assert.equal(budget.inUse, 0);
  });

  it('grants a request larger than the capacity at once when the budget is idle', async () => {
    const budget = new ByteBudget(100);
    const release = await budget.acquire(5000);
    assert.equal(budget.inUse, 100);
    release();
    assert.equal(budget.inUse, 0);
  });

  it('makes release idempotent: a second call neither frees bytes twice nor wakes anyone', async () => {
    const budget = new ByteBudget(100);
    const a = await budget.acquire(60);
    const b = await budget.acquire(40);
    a();
    a();
    a();
    assert.equal(budget.inUse, 40);
    const c = track(budget.acquire(70));
    await settle();
    assert.equal(c.done, false, 'double releases must not make room that is still held');
    b();
    b();
    await settle();
    assert.equal(c.done, true);
    assert.equal(budget.inUse, 70);
    c.release!();
    c.release!();
    assert.equal(budget.inUse, 0);
  });

  it("rejects an aborted waiter with the signal's reason and wakes the one behind it", async () => {
    const budget = new ByteBudget(100);
    const held = await budget.acquire(50);
    const controller = new AbortController();
    const blocked = track(budget.acquire(80, controller.signal));
    // Would fit beside the 50 held, but waits behind the 80.
    const behind = track(budget.acquire(30));
    await settle();
    assert.deepEqual([blocked.done, behind.done], [false, false]);

    const reason = new Error('sync cancelled');
    controller.abort(reason);
    await settle();
    assert.equal(blocked.done, true);
    assert.equal(blocked.error, reason);
    assert.equal(blocked.release, undefined);
    assert.equal(behind.done, true, 'the waiter behind the aborted one was not woken');
    assert.equal(budget.inUse, 80);
    held();
    behind.release!();
    assert.equal(budget.inUse, 0);
  });

  it('rejects with the default AbortError reason when aborted without one', async () => {
    const budget = new ByteBudget(10);
    const held = await budget.acquire(10);
    const controller = new AbortController();
    const waiter = budget.acquire(5, controller.signal);
    controller.abort();
    await assert.rejects(waiter, (err: unknown) => err instanceof DOMException && err.name === 'AbortError');
    held();
    assert.equal(budget.inUse, 0);
  });

  it('ignores an abort after the bytes were granted', async () => {
    const budget = new ByteBudget(10);
    const controller = new AbortController();
    const release = await budget.acquire(4, controller.signal);
    controller.abort();
    await settle();
    assert.equal(budget.inUse, 4);
    release();
    assert.equal(budget.inUse, 0);

    // Granted after waiting, then aborted: still held until released.
    const held = await budget.acquire(10);
    const late = new AbortController();
    const waiter = track(budget.acquire(6, late.signal));
    held();
    await settle();
    assert.equal(waiter.done, true);
    late.abort();
    await settle();
    assert.equal(budget.inUse, 6);
    assert.equal(waiter.error, undefined);
    waiter.release!();
    assert.equal(budget.inUse, 0);
  });

  it('keeps inUse within the capacity and back to 0 through many concurrent acquires and releases', async () => {
    const budget = new ByteBudget(1000);
    // Bytes held by callers that have resumed; granted-but-not-yet-resumed ones count in inUse too.
    let held = 0;
    const sizes = Array.from({ length: 200 }, (_, i) => ((i * 7919) % 400) + 1);
    await Promise.all(
      sizes.map(async (size, i) => {
        const release = await budget.acquire(size);
        held += size;
        assert.ok(held <= budget.inUse && budget.inUse <= 1000, `inUse ${budget.inUse}, held ${held}`);
        await new Promise((resolve) => setTimeout(resolve, i % 3));
        held -= size;
        release();
        assert.ok(held <= budget.inUse && budget.inUse <= 1000, `inUse ${budget.inUse}, held ${held}`);
      }),
    );
    assert.equal(held, 0);
    assert.equal(budget.inUse, 0);
  });

  it('rejects at once a waiter whose signal was aborted before it asked', async () => {
    const budget = new ByteBudget(10);
    const held = await budget.acquire(10);
    const controller = new AbortController();
    const reason = new Error('already cancelled');
    controller.abort(reason);
    const waiter = track(budget.acquire(5, controller.signal));
    await new Promise((resolve) => setTimeout(resolve, 20));
    held();
    await settle();
    try {
      assert.equal(waiter.error, reason, 'an already aborted waiter was not rejected');
      assert.equal(budget.inUse, 0);
    } finally {
      waiter.release?.();
    }
  });

  it('leaves no abort listener behind on the signal once a waiter is granted', async () => {
    const budget = new ByteBudget(10);
    const controller = new AbortController();
    for (let i = 0; i < 3; i++) {
      const held = await budget.acquire(10);
      const waiter = budget.acquire(10, controller.signal);
      held();
      (await waiter)();
    }
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });
});
