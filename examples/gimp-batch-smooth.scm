; Smooths every image matching a pattern through GIMP and the csgis plug-in, writing
; NAME-smoothed.png beside each input.
;
;   gimp-console-2.10 -i -d -f -b '(begin (load "examples/gimp-batch-smooth.scm")
;       (csgis-batch-smooth "photos/*.png" 1.0 "base"))' -b '(gimp-quit 0)'
;
; (Each -b runs in a fresh Script-Fu interpreter: load and call in the same one.)
; Arguments: a glob pattern, the strength (0..1) and the model (base, lite or a path).
(define (csgis-batch-smooth pattern strength model)
  (let loop ((files (cadr (file-glob pattern 1))))
    (if (not (null? files))
        (let* ((file (car files))
               (out (string-append (substring file 0 (- (string-length file) 4)) "-smoothed.png"))
               (image (car (gimp-file-load RUN-NONINTERACTIVE file file)))
               (drawable (car (gimp-image-get-active-drawable image))))
          (plug-in-csgis-smooth RUN-NONINTERACTIVE image drawable strength model 0 0)
          (gimp-file-save RUN-NONINTERACTIVE image drawable out out)
          (gimp-image-delete image)
          (loop (cdr files))))))
