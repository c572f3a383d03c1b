;; Head statistics kernels, WebAssembly SIMD (4 float32 lanes). Compiled by the build (wabt) and run
;; by headStatsWasm.ts, which copies one layer of attention at a time into this module's memory.
;; The reference maths is headStatistics in src/maths/attention.ts; unit tests compare the two.
(module
  (memory (export "memory") 1)

  ;; Both kernels set subnormal values (below 2^-126: exponent bits 0) to 0 as they load them, written
  ;; out in each loop: v128.andnot(x, x <ᵢ 0x00800000), an integer compare on the bits (values are
  ;; probabilities, sign bit 0). Softmax underflows to subnormals (4 % of ViT-B's attention with random
  ;; weights), and x86 takes a slow microcode path for every float multiply that reads one. A
  ;; subnormal's share of a sum (< 1.2e-38 per value, × |ln| ≤ 104) is far below float32's resolution.

  (func $hsum (param $v v128) (result f64)
    (f64.add
      (f64.add (f64.promote_f32 (f32x4.extract_lane 0 (local.get $v))) (f64.promote_f32 (f32x4.extract_lane 1 (local.get $v))))
      (f64.add (f64.promote_f32 (f32x4.extract_lane 2 (local.get $v))) (f64.promote_f32 (f32x4.extract_lane 3 (local.get $v))))))

  ;; −Σ a·ln a over `count` float32 at byte address `ptr`, count a multiple of 4 (the caller pads a
  ;; head with zeros, which contribute 0). Lanes sum in float32 over blocks of 256 values, blocks in
  ;; float64. ln of 4 lanes at once: x = 2^e·m, m folded into [√½, √2); ln m = 2·atanh(t) with
  ;; t = (m−1)/(m+1), |t| ≤ 0.172, by its series to t⁷ (truncation error < 1e-7). Zero and denormals
  ;; give a finite ln (about −88), so 0·ln 0 contributes 0. Written out in the loop: V8 did not inline
  ;; it as a function, which made the loop twice as slow.
  (func (export "entropy") (param $ptr i32) (param $count i32) (result f64)
    (local $end i32) (local $blockEnd i32) (local $acc v128) (local $x v128) (local $sum f64)
    (local $e v128) (local $m v128) (local $big v128) (local $t v128) (local $t2 v128) (local $ln v128)
    (local.set $end (i32.add (local.get $ptr) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $blockEnd (select (local.get $end) (i32.add (local.get $ptr) (i32.const 1024))
          (i32.lt_u (local.get $end) (i32.add (local.get $ptr) (i32.const 1024)))))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (loop $values
          (local.set $x (v128.load (local.get $ptr)))
          (local.set $x (v128.andnot (local.get $x) (i32x4.lt_s (local.get $x) (i32x4.splat (i32.const 0x00800000)))))
          (local.set $e (i32x4.sub (i32x4.shr_u (local.get $x) (i32.const 23)) (i32x4.splat (i32.const 127))))
          (local.set $m (v128.or
            (v128.and (local.get $x) (i32x4.splat (i32.const 0x007fffff)))
            (i32x4.splat (i32.const 0x3f800000))))
          ;; m > √2 → m/2 and e+1 (the comparison mask is −1 where true)
          (local.set $big (f32x4.gt (local.get $m) (f32x4.splat (f32.const 1.41421356))))
          (local.set $m (v128.bitselect (f32x4.mul (local.get $m) (f32x4.splat (f32.const 0.5))) (local.get $m) (local.get $big)))
          (local.set $e (i32x4.sub (local.get $e) (local.get $big)))
          (local.set $t (f32x4.div
            (f32x4.sub (local.get $m) (f32x4.splat (f32.const 1)))
            (f32x4.add (local.get $m) (f32x4.splat (f32.const 1)))))
          (local.set $t2 (f32x4.mul (local.get $t) (local.get $t)))
          (local.set $ln (f32x4.add  ;; ln x = e·ln2 + 2t·(1 + t²/3 + t⁴/5 + t⁶/7)
            (f32x4.mul (f32x4.convert_i32x4_s (local.get $e)) (f32x4.splat (f32.const 0.693147181)))
            (f32x4.mul (f32x4.add (local.get $t) (local.get $t))
              (f32x4.add (f32x4.splat (f32.const 1)) (f32x4.mul (local.get $t2)
                (f32x4.add (f32x4.splat (f32.const 0.333333333)) (f32x4.mul (local.get $t2)
                  (f32x4.add (f32x4.splat (f32.const 0.2)) (f32x4.mul (local.get $t2) (f32x4.splat (f32.const 0.142857143)))))))))))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $x) (local.get $ln))))
          (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
          (br_if $values (i32.lt_u (local.get $ptr) (local.get $blockEnd))))
        (local.set $sum (f64.add (local.get $sum) (call $hsum (local.get $acc))))
        (br $blocks)))
    (f64.neg (local.get $sum)))

  ;; Σ_i Σ_j A[first+i, first+j]·D[i, j] over the p patch tokens of one head: A is n×n float32 at
  ;; `attn`, D is p×p float32 at `dist` (pixel distances between patch centres).
  (func (export "distance") (param $attn i32) (param $n i32) (param $first i32) (param $p i32) (param $dist i32) (result f64)
    (local $i i32) (local $row i32) (local $drow i32) (local $j i32) (local $vecEnd i32) (local $acc v128) (local $a v128) (local $rowSum f64) (local $total f64)
    (local.set $vecEnd (i32.and (local.get $p) (i32.const -4)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $p)))
        (local.set $row (i32.add (local.get $attn)
          (i32.shl (i32.add (i32.mul (i32.add (local.get $first) (local.get $i)) (local.get $n)) (local.get $first)) (i32.const 2))))
        (local.set $drow (i32.add (local.get $dist) (i32.shl (i32.mul (local.get $i) (local.get $p)) (i32.const 2))))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $vecDone
          (loop $vec
            (br_if $vecDone (i32.ge_u (local.get $j) (local.get $vecEnd)))
            (local.set $a (v128.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
              (v128.andnot (local.get $a) (i32x4.lt_s (local.get $a) (i32x4.splat (i32.const 0x00800000))))
              (v128.load (i32.add (local.get $drow) (i32.shl (local.get $j) (i32.const 2)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vec)))
        (local.set $rowSum (call $hsum (local.get $acc)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $p)))
            (local.set $rowSum (f64.add (local.get $rowSum) (f64.promote_f32 (f32.mul
              (f32.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))
              (f32.load (i32.add (local.get $drow) (i32.shl (local.get $j) (i32.const 2))))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (local.set $total (f64.add (local.get $total) (local.get $rowSum)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
    (local.get $total))
)
