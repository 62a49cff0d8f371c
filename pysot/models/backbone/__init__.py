"""Backbones (cfg.BACKBONE.TYPE); importing this package registers them in BACKBONES."""
from pysot.models.backbone.alexnet import AlexNet, AlexNetLegacy
from pysot.models.backbone.mobile_v2 import MobileNetV2
from pysot.models.backbone.mobile_v3 import MobileNetV3Small, mobilenetv3_small, mobilenetv3_small_v3
from pysot.models.backbone.siamfc_alexnet import SiamFCAlexNet
from pysot.models.backbone.resnet_atrous import ResNet, resnet18, resnet34, resnet50
from pysot.models.backbone.vit import VitTrackBackbone

__all__ = ["AlexNet", "AlexNetLegacy", "MobileNetV2", "ResNet", "resnet18", "resnet34", "resnet50", "SiamFCAlexNet",
           "MobileNetV3Small", "mobilenetv3_small", "mobilenetv3_small_v3", "VitTrackBackbone"]
