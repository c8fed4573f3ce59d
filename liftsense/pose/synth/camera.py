"""Pinhole camera and BlazePose-like sensor noise: world metres -> normalised image landmarks + visibility."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liftsense.pose.landmarks import BP


@dataclass(frozen=True)
class Camera:
    distance: float  # metres from the lifter's start position
    yaw: float  # degrees; 0 = facing the camera, 90 = the lifter's left side to the camera
    pitch: float  # degrees; positive looks down
    height: float  # camera height in metres
    focal_px: float
    width: int = 640
    height_px: int = 480
    offset_x: float = 0.0  # lifter's lateral position in the room (m)

    @staticmethod
    def sample(rng: np.random.Generator, side_view: bool = False) -> Camera:
        yaw = rng.uniform(60, 90) * rng.choice([-1, 1]) if side_view else rng.uniform(-40, 40)
        return Camera(
            distance=rng.uniform(2.6, 4.8),
            yaw=float(yaw),
            pitch=rng.uniform(-5, 12),
            height=rng.uniform(0.7, 1.5),
            focal_px=rng.uniform(480, 620),
            offset_x=rng.uniform(-0.5, 0.5),
        )

    def project(self, world: np.ndarray) -> np.ndarray:
        """(n, 33, 3) world -> (n, 33, 3) BlazePose-style normalised x, y and hip-relative z."""
        a = np.radians(self.yaw)
        # turn the lifter (about the vertical through the start position), then place them in the room
        rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        p = world @ rot.T + np.array([self.offset_x, 0.0, 0.0])
        # camera at (0, h, distance) looking toward -z, tilted down by pitch
        rel = p - np.array([0.0, self.height, self.distance])
        b = np.radians(self.pitch)
        cam_y = rel[..., 1] * np.cos(b) - rel[..., 2] * np.sin(b)
        depth = -(rel[..., 1] * np.sin(b) + rel[..., 2] * np.cos(b))
        depth = np.maximum(depth, 0.3)
        x = 0.5 + self.focal_px * rel[..., 0] / depth / self.width
        y = 0.5 - self.focal_px * cam_y / depth / self.height_px
        hip_depth = 0.5 * (depth[:, BP["left_hip"]] + depth[:, BP["right_hip"]])
        z = self.focal_px * (depth - hip_depth[:, None]) / hip_depth[:, None] / self.width
        return np.stack([x, y, z], axis=-1)


def add_sensor_noise(
    img: np.ndarray, cam: Camera, rng: np.random.Generator, dropout_rate: float
) -> np.ndarray:
    """Jitter, self-occlusion, occlusion episodes and dropped frames -> (n, 33, 4) with visibility."""
    n = len(img)
    jitter = rng.uniform(0.002, 0.006)
    noisy = img + rng.normal(0.0, jitter, img.shape) * np.array([1.0, 1.0, 3.0])
    # slow drift of the whole detection (tracking wobble)
    noisy[..., :2] += np.cumsum(rng.normal(0, jitter * 0.15, (n, 1, 2)), axis=0)
    vis = rng.uniform(0.9, 1.0, (n, 33))
    # self-occlusion: the side turned away from the camera is less visible
    a = np.radians(cam.yaw)
    away = np.array([1.0 if "right" in name else -1.0 if "left" in name else 0.0 for name in BP]) * np.sin(a)
    vis -= np.clip(away, 0, None)[None, :] * rng.uniform(0.2, 0.5)
    # occlusion episodes: a limb hidden for a while (weights, other people): visibility collapses, noise grows
    for _ in range(rng.poisson(1.0)):
        start = rng.integers(0, max(n - 5, 1))
        length = rng.integers(3, 25)
        joints = rng.choice(33, size=rng.integers(1, 6), replace=False)
        sl = slice(start, min(start + length, n))
        vis[sl, joints] = rng.uniform(0.05, 0.45, vis[sl, joints].shape)
        noisy[sl][:, joints, :2] += rng.normal(0, 0.03, noisy[sl][:, joints, :2].shape)
    outside = (noisy[..., 0] < 0) | (noisy[..., 0] > 1) | (noisy[..., 1] < 0) | (noisy[..., 1] > 1)
    vis[outside] *= 0.2
    out = np.concatenate([noisy, np.clip(vis, 0, 1)[..., None]], axis=-1)
    # dropped frames: no detection at all, in short bursts
    drops = rng.random(n) < dropout_rate
    for i in np.flatnonzero(drops):
        out[i : i + rng.integers(1, 4)] = np.nan
    return out.astype(np.float32)
