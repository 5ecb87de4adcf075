/** What an event does and which events apply: video progress only for video creatives. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventEffect, eventRefusal } from '../../src/engine/events.js';
import { EVENT_TYPES, VIDEO_EVENT_TYPES } from '../../src/engine/types.js';

describe('eventRefusal', () => {
  it('refuses playback progress for image creatives and accepts everything for videos', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EVENT_TYPES), fc.boolean(), (type, video) => {
        const playback = (VIDEO_EVENT_TYPES as readonly string[]).includes(type);
        expect(eventRefusal({ video }, type)).toBe(playback && !video ? 'not_video' : undefined);
      }),
    );
  });

  it('lets playback progress neither charge nor convert nor change user state', () => {
    for (const type of VIDEO_EVENT_TYPES) {
      for (const bidType of ['cpm', 'cpc'] as const) {
        expect(eventEffect({ bidType, priceMicros: 500, viewedAt: null, chargedAt: null, video: true }, type)).toEqual({
          chargeMicros: 0,
          converts: false,
          blocksAdvertiser: false,
          hidesCreative: false,
          reportsCreative: false,
        });
      }
    }
  });
});
