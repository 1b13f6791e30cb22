#!/usr/bin/env bash
# Presses Cancel in GIMP's own progress dialog while plug-in-csgis-smooth runs, the way a user
# would, and reports what happened. Needs an X display (run it under `xvfb-run -a -s
# "-screen 0 1280x900x24"`), xdotool, GIMP 2.10 and the plug-in installed in $HOME.
#   gimp-cancel.sh IMAGE OUTDIR MODEL
# GIMP opens IMAGE in a window and calls the plug-in on its layer; when the "Progress" dialog
# appears and the plug-in has run for 2 s, its Cancel button is clicked. GIMP then exports the
# layer to OUTDIR/after.png and quits. (The dirty flag says nothing here: Script-Fu loads mark
# images dirty in the GUI.)
# Prints "plugin-ran-ms T" (from the dialog to the click) and "plugin-ended-after-ms T"
# (from the click until the plug-in process was gone); exits non-zero if a step fails.
set -eu
img=$1 out=$2 model=$3
job="(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$img\" \"$img\")))
            (drw (car (gimp-image-get-active-drawable img)))
            (disp (car (gimp-display-new img))))
       (gimp-displays-flush)
       (plug-in-csgis-smooth RUN-NONINTERACTIVE img drw 1.0 \"$model\" 1 256)
       (file-png-save-defaults RUN-NONINTERACTIVE img drw
         \"$out/after.png\" \"after.png\"))"
export LANG=C LC_ALL=C
gimp-2.10 -n -s -d -f -b "$job" -b '(gimp-quit 1)' >"$out/gimp.log" 2>&1 &
gimp_pid=$!
trap 'kill $gimp_pid 2>/dev/null || true' EXIT
plugin() { pgrep -P $gimp_pid -f 'plug-ins/csgis-smooth/csgis-smooth -gimp' >/dev/null; }  # ours only
# GIMP shows other "Progress" dialogs too (loading the image): wait for the plug-in to run.
dialog=""
for _ in $(seq 600); do
  kill -0 $gimp_pid 2>/dev/null || { echo "GIMP ended before the plug-in showed progress"; cat "$out/gimp.log"; exit 1; }
  if plugin; then
    dialog=$(xdotool search --onlyvisible --name '^Progress$' 2>/dev/null | head -n 1 || true)
    [ -n "$dialog" ] && break
  fi
  sleep 0.2
done
[ -n "$dialog" ] || { echo "no progress dialog of the plug-in within 120 s"; exit 1; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
t_dialog=$(ms)
sleep 2
plugin || { echo "the plug-in was not running 2 s after its progress dialog appeared"; exit 1; }
geometry=$(xdotool getwindowgeometry --shell "$dialog") || { echo "the progress dialog went away"; exit 1; }
eval "$geometry"
# GimpProgressDialog: a progress bar and a message above one Cancel button, bottom right.
xdotool mousemove $((X + WIDTH - 56)) $((Y + HEIGHT - 28)) click 1
t_click=$(ms)
echo "plugin-ran-ms $((t_click - t_dialog))"
for _ in $(seq 300); do plugin || break; sleep 0.1; done
plugin && { echo "the plug-in still runs 30 s after Cancel"; exit 1; }
echo "plugin-ended-after-ms $(( $(ms) - t_click ))"
for _ in $(seq 600); do kill -0 $gimp_pid 2>/dev/null || break; sleep 0.2; done
wait $gimp_pid || true
trap - EXIT
