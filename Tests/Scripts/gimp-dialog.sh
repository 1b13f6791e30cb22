#!/usr/bin/env bash
# Runs plug-in-csgis-smooth the way a user does from the menu: interactively, so its dialog
# opens; waits for the live preview to be computed, presses OK and lets the plug-in smooth
# the layer with the dialog's values (the defaults on a fresh HOME). Needs an X display
# (run it under `xvfb-run -a -s "-screen 0 1280x900x24"`), xdotool, GIMP 2.10 and the
# plug-in installed in $HOME.
#   gimp-dialog.sh IMAGE OUTDIR
# GIMP exports the layer to OUTDIR/after.png and quits. Prints the plug-in's preview lines
# (CSGIS_DEBUG: "csgis preview: WxH at X,Y, status S"); exits non-zero if a step fails.
set -eu
img=$1 out=$2
job="(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$img\" \"$img\")))
            (drw (car (gimp-image-get-active-drawable img)))
            (disp (car (gimp-display-new img))))
       (gimp-displays-flush)
       (plug-in-csgis-smooth RUN-INTERACTIVE img drw 1.0 \"\" 0 0)
       (file-png-save-defaults RUN-NONINTERACTIVE img drw
         \"$out/after.png\" \"after.png\"))"
export LANG=C LC_ALL=C CSGIS_DEBUG=1
gimp-2.10 -n -s -d -f -b "$job" -b '(gimp-quit 1)' >"$out/gimp.log" 2>&1 &
gimp_pid=$!
trap 'kill $gimp_pid 2>/dev/null || true' EXIT
dialog=""
for _ in $(seq 600); do
  kill -0 $gimp_pid 2>/dev/null || { echo "GIMP ended before the dialog opened"; cat "$out/gimp.log"; exit 1; }
  dialog=$(xdotool search --onlyvisible --name '^CSGIS Smooth$' 2>/dev/null | head -n 1 || true)
  [ -n "$dialog" ] && break
  sleep 0.2
done
[ -n "$dialog" ] || { echo "no CSGIS Smooth dialog within 120 s"; cat "$out/gimp.log"; exit 1; }
for _ in $(seq 600); do grep -q '^csgis preview: .*status' "$out/gimp.log" && break; sleep 0.2; done
grep -q '^csgis preview: .*status' "$out/gimp.log" || { echo "no preview computed within 120 s"; cat "$out/gimp.log"; exit 1; }
grep '^csgis preview: ' "$out/gimp.log"
# no window manager under Xvfb, so no focus to send keys to: click OK, the dialog's bottom-right button
geometry=$(xdotool getwindowgeometry --shell "$dialog") || { echo "the dialog went away"; exit 1; }
eval "$geometry"
xdotool mousemove $((X + WIDTH - 50)) $((Y + HEIGHT - 28)) click 1
for _ in $(seq 900); do kill -0 $gimp_pid 2>/dev/null || break; sleep 0.2; done
kill -0 $gimp_pid 2>/dev/null && { echo "GIMP still runs 180 s after OK"; exit 1; }
wait $gimp_pid || true
trap - EXIT
[ -s "$out/after.png" ] || { echo "no after.png: the plug-in did not finish"; cat "$out/gimp.log"; exit 1; }
