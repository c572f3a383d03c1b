;; Attention rollout, one layer at a time, WebAssembly SIMD (4 float32 lanes). Compiled by the build (wabt)
;; and run by rolloutWasm.ts, which copies one layer of attention at a time into this module's memory.
;; The reference maths is rolloutRow in src/maths/attention.ts (Abnar & Zuidema 2020); unit tests compare
;; the two. Without a discard ratio only: vit-explain's discard needs the whole fused matrix's order.

(module
  (memory (export "memory") 1)

  ;; next = v·Â for one layer, Â = rownorm(0.5·fuse(A) + 0.5·I):
  ;;   for every row i with v[i] ≠ 0: f = fuse over heads of A[h, i, :] (f32: mean = Σ_h in head order,
  ;;   then ÷ heads; max; min), s = 0.5 + 0.5·Σ_j f[j] (f64), w = v[i] / s,
  ;;   next[j] += 0.5·w·f[j] for every j, next[i] += 0.5·w.
  ;; Memory: `layer`: `heads` heads of n×n float32, `stride` floats apart; `v`, `next`: n float64 each
  ;; (next zeroed by the caller); `row`: scratch for n float32 rounded up to a multiple of 4.
  ;; fusion: 0 mean, 1 max, 2 min.
  (func (export "step")
    (param $layer i32) (param $stride i32) (param $heads i32) (param $n i32) (param $fusion i32)
    (param $v i32) (param $next i32) (param $row i32)
    (local $i i32) (local $h i32) (local $j i32) (local $vecEnd i32) (local $src i32) (local $headBytes i32)
    (local $acc v128) (local $x v128) (local $vi f64) (local $s f64) (local $w f64) (local $f f64) (local $p i32)
    (local.set $vecEnd (i32.and (local.get $n) (i32.const -4)))
    (local.set $headBytes (i32.shl (local.get $stride) (i32.const 2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $vi (f64.load (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3)))))
        (if (f64.ne (local.get $vi) (f64.const 0))
          (then
            ;; f, 4 columns at a time: head 0's row, then the other heads folded in head order
            (local.set $j (i32.const 0))
            (block $vecDone
              (loop $vec
                (br_if $vecDone (i32.ge_u (local.get $j) (local.get $vecEnd)))
                (local.set $src (i32.add (local.get $layer)
                  (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))))
                (local.set $acc (v128.load (local.get $src)))
                (local.set $h (i32.const 1))
                (block $headsDone
                  (loop $headLoop
                    (br_if $headsDone (i32.ge_u (local.get $h) (local.get $heads)))
                    (local.set $src (i32.add (local.get $src) (local.get $headBytes)))
                    (local.set $x (v128.load (local.get $src)))
                    (local.set $acc
                      (if (result v128) (i32.eqz (local.get $fusion))
                        (then (f32x4.add (local.get $acc) (local.get $x)))
                        (else (if (result v128) (i32.eq (local.get $fusion) (i32.const 1))
                          (then (f32x4.max (local.get $acc) (local.get $x)))
                          (else (f32x4.min (local.get $acc) (local.get $x)))))))
                    (local.set $h (i32.add (local.get $h) (i32.const 1)))
                    (br $headLoop)))
                (if (i32.eqz (local.get $fusion))
                  (then (local.set $acc (f32x4.div (local.get $acc) (f32x4.splat (f32.convert_i32_u (local.get $heads)))))))
                (v128.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (local.get $acc))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $vec)))
            ;; the last n mod 4 columns, one at a time, in the same order
            (block $tailDone
              (loop $tail
                (br_if $tailDone (i32.ge_u (local.get $j) (local.get $n)))
                (local.set $src (i32.add (local.get $layer)
                  (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))))
                (local.set $x (f32x4.splat (f32.load (local.get $src))))
                (local.set $acc (local.get $x))
                (local.set $h (i32.const 1))
                (block $tailHeadsDone
                  (loop $tailHeads
                    (br_if $tailHeadsDone (i32.ge_u (local.get $h) (local.get $heads)))
                    (local.set $src (i32.add (local.get $src) (local.get $headBytes)))
                    (local.set $x (f32x4.splat (f32.load (local.get $src))))
                    (local.set $acc
                      (if (result v128) (i32.eqz (local.get $fusion))
                        (then (f32x4.add (local.get $acc) (local.get $x)))
                        (else (if (result v128) (i32.eq (local.get $fusion) (i32.const 1))
                          (then (f32x4.max (local.get $acc) (local.get $x)))
                          (else (f32x4.min (local.get $acc) (local.get $x)))))))
                    (local.set $h (i32.add (local.get $h) (i32.const 1)))
                    (br $tailHeads)))
                (if (i32.eqz (local.get $fusion))
                  (then (local.set $acc (f32x4.div (local.get $acc) (f32x4.splat (f32.convert_i32_u (local.get $heads)))))))
                (f32.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (f32x4.extract_lane 0 (local.get $acc)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $tail)))
            ;; s and w, then next += 0.5·w·f (float64, column order)
            (local.set $s (f64.const 0))
            (local.set $j (i32.const 0))
            (block $sumDone
              (loop $sum
                (br_if $sumDone (i32.ge_u (local.get $j) (local.get $n)))
                (local.set $s (f64.add (local.get $s)
                  (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $sum)))
            (local.set $w (f64.div (local.get $vi) (f64.add (f64.const 0.5) (f64.mul (f64.const 0.5) (local.get $s)))))
            (local.set $f (f64.mul (local.get $w) (f64.const 0.5)))
            (local.set $j (i32.const 0))
            (block $axpyDone
              (loop $axpy
                (br_if $axpyDone (i32.ge_u (local.get $j) (local.get $n)))
                (local.set $p (i32.add (local.get $next) (i32.shl (local.get $j) (i32.const 3))))
                (f64.store (local.get $p) (f64.add (f64.load (local.get $p)) (f64.mul (local.get $f)
                  (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $axpy)))
            (local.set $p (i32.add (local.get $next) (i32.shl (local.get $i) (i32.const 3))))
            (f64.store (local.get $p) (f64.add (f64.load (local.get $p)) (local.get $f)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
)
