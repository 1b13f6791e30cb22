"""Where the natural photographs come from, and how they split into train / tune / validation.

Sources (all optional; whatever is present is used):
- DATASETS/photos: CBSD68, Kodak (Set24), McMaster (Set18) from ../shared/datasets;
- Debian's desktop-background packages and opencv-doc, found installed under /usr/share or
  unpacked by `prepare.py --fetch-debs` (apt-get download + dpkg-deb -x, no root needed).
  Only the files listed in DEBIAN_PHOTOS are taken: they are photographs; the packages'
  abstract art, renders and logos are left out (checked by eye on a contact sheet);
- scikit-image's sample photographs.
The split is by a hash of the photo's name, so it is stable when sources come and go:
10 % tuning (classical filters' parameters), 20 % validation, 70 % training.
"""
import hashlib
from pathlib import Path

DEBIAN_PACKAGES = ["mate-backgrounds", "plasma-workspace-wallpapers", "gnome-backgrounds", "ukui-wallpapers",
                   "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04", "opencv-doc"]

# file name (backgrounds) or wallpaper folder name (Plasma) -> kept
DEBIAN_PHOTOS = {
    # ukui / lomiri / ubuntu backgrounds under /usr/share/backgrounds
    "Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Infinite-Sea_by_Aury88.jpg",
    "Kleiber_by_Lukas_Baubkus.jpg", "Picture_0B_by_freespace.jpg", "Picture_1A_by_freespace.jpg",
    "Wine_by_Jakkub_Mede.jpg", "aitzgorri_by_Aitzol_Berasategi.jpg", "free_by_Peter_Nerlich.jpg",
    "friends_by_Aitzol_Berasategi.jpg", "life_by_Aitzol_Berasategi.jpg", "picosdeeuropa_by_Aitzol_Berasategi.jpg",
    "seeding_by_Clements_Engelhardt.jpg", "sunset_by_Aitzol_Berasategi.jpg",
    # mate-backgrounds: nature
    "Aqua.jpg", "Blinds.jpg", "Dune.jpg", "FreshFlower.jpg", "Garden.jpg", "GreenMeadow.jpg", "LadyBird.jpg",
    "RainDrops.jpg", "Storm.jpg", "TwoWings.jpg", "Wood.jpg", "YellowFlower.jpg",
    # plasma-workspace-wallpapers (folder names; the largest image of each)
    "BytheWater", "ColdRipple", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "MilkyWay",
    "OneStandsOut", "Path", "Volna", "summer_1am",
    # opencv-doc examples/data: photographs only
    "baboon.jpg", "building.jpg", "fruits.jpg", "home.jpg", "messi5.jpg", "orange.jpg", "apple.jpg",
    "butterfly.jpg", "squirrel_cls.jpg", "stuff.jpg", "aero1.jpg", "aero3.jpg", "leuvenA.jpg", "graf1.png",
    "smarties.png", "basketball1.png", "rubberwhale1.png", "lena.jpg", "board.jpg", "HappyFish.jpg",
}
SKIMAGE_PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "motorcycle_left", "retina"]
EXTS = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".bmp"}


def _debian_roots(extra_root=None, system=True):
    roots = [Path("/")] if system else []
    if extra_root:
        roots.insert(0, Path(extra_root))
    return roots


def find(datasets=None, debs_root=None, system=True):
    """-> list of (name, loader) where loader() returns an RGB uint8 array. system: also
    look in this machine's /usr/share (installed wallpaper packages, opencv-doc)."""
    import cv2
    import numpy as np
    found = {}

    def from_file(p):
        return lambda: cv2.imread(str(p), cv2.IMREAD_COLOR)[..., ::-1].copy()

    if datasets:
        for p in sorted(Path(datasets, "photos").rglob("*")):
            if p.suffix.lower() in EXTS:
                found[f"{p.parent.name}/{p.name}"] = from_file(p)
    for root in _debian_roots(debs_root, system):
        for sub in ("usr/share/backgrounds", "usr/share/doc/opencv-doc/examples/data"):
            d = root / sub
            if d.is_dir():
                for p in sorted(d.rglob("*")):
                    if p.name in DEBIAN_PHOTOS and p.suffix.lower() in EXTS:
                        found.setdefault(f"debian/{p.name}", from_file(p))
        d = root / "usr/share/wallpapers"
        if d.is_dir():
            for w in sorted(d.iterdir()):
                imgs = sorted((p for p in (w / "contents" / "images").glob("*") if p.suffix.lower() in EXTS),
                              key=lambda p: p.stat().st_size) if (w / "contents" / "images").is_dir() else []
                if w.name in DEBIAN_PHOTOS and imgs:
                    found.setdefault(f"debian/{w.name}", from_file(imgs[-1]))
    try:
        from skimage import data
        for n in SKIMAGE_PHOTOS:
            if hasattr(data, n):
                def load(n=n):
                    im = getattr(data, n)()
                    return np.ascontiguousarray(im[..., :3]) if im.ndim == 3 else np.repeat(im[..., None], 3, 2)
                found[f"skimage/{n}"] = load
    except ImportError:
        pass
    return sorted(found.items())


def split_of(name):
    h = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 10
    return "tune" if h == 0 else "val" if h in (1, 2) else "train"
