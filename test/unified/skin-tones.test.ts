// The skin-tone split of exact captions that `eval lm` reports (engine/infer/eval.ts): about half of
// the emoji set's held-out rows are skin-tone variants, and a caption can name the right emoji with
// the wrong tone, or the right tone on the wrong emoji.
import { describe, expect, it } from 'vitest';
import { skinToneBreakdown, splitSkinTones } from '../../src-main/engine/infer/eval.ts';

describe('skin-tone breakdown of exact captions', () => {
  it('splits a label into its name and its tones, in order', () => {
    expect(splitSkinTones('Waving hand: medium-light skin tone')).toEqual({ base: 'waving hand', tones: 'medium-light' });
    expect(splitSkinTones('kiss: woman, man, light skin tone, medium-dark skin tone')).toEqual({ base: 'kiss: woman, man', tones: 'light,medium-dark' });
    expect(splitSkinTones('people holding hands: dark skin tone, medium skin tone')).toEqual({ base: 'people holding hands', tones: 'dark,medium' });
    expect(splitSkinTones('red apple')).toEqual({ base: 'red apple', tones: '' });
  });

  it('counts plain and skin-tone rows apart, and the name and the tones of the latter on their own', () => {
    const r = skinToneBreakdown('caption_exact', [
      { pred: 'red apple', truth: 'red apple' },
      { pred: 'green apple', truth: 'red apple' },
      { pred: 'waving hand: dark skin tone', truth: 'Waving hand: dark skin tone.' }, // exact after normalising
      { pred: 'waving hand: light skin tone', truth: 'waving hand: dark skin tone' }, // name right, tone wrong
      { pred: 'thumbs up: dark skin tone', truth: 'waving hand: dark skin tone' }, // tone right, name wrong
      { pred: 'waving hand', truth: 'waving hand: medium skin tone' }, // name right, no tone
    ]);
    expect(r).toEqual({
      caption_exact_plain: 0.5,
      caption_exact_skin_tone: 0.25,
      caption_exact_skin_tone_base: 0.75,
      caption_exact_skin_tone_tones: 0.5,
      skin_tone_share: 4 / 6,
    });
  });

  it('says nothing for data whose labels name no skin tone', () => {
    expect(skinToneBreakdown('caption_exact', [{ pred: 'shirt', truth: 'shirt' }])).toEqual({});
  });
});
