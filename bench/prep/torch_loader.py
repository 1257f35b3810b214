#!/usr/bin/python3
"""torchvision's side of bench/prep: the ImageNet test transform (PIL decode,
Resize 256, CenterCrop 224, ToTensor, Normalize) through a DataLoader with 2
worker processes, batch 64, over the same JPEG files. Prints images/s."""
import os, sys, time
import torch
import torchvision.transforms as T
from PIL import Image


class Files(torch.utils.data.Dataset):
    def __init__(self, d):
        self.files = sorted(os.path.join(d, f) for f in os.listdir(d))
        self.tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                             T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return self.tf(Image.open(self.files[i]).convert('RGB')), 0


if __name__ == '__main__':
    torch.set_num_threads(1)
    ds = Files(sys.argv[1])
    dl = torch.utils.data.DataLoader(ds, batch_size=64, num_workers=2, persistent_workers=False)
    import resource
    cpu = lambda: sum(resource.getrusage(w).ru_utime + resource.getrusage(w).ru_stime
                      for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    t, c = time.perf_counter(), cpu()
    n = sum(x.shape[0] for x, _ in dl)
    dt = time.perf_counter() - t
    del dl  # the workers end here, so their CPU time is counted
    import gc; gc.collect(); time.sleep(0.5)
    print('torchvision DataLoader (2 workers): %d images in %.2f s: %.1f images/s wall, %.1f images per CPU-second'
          % (n, dt, n / dt, n / (cpu() - c)))
