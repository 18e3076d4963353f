# LB601, right: reduction="batchmean", the KL divergence per sample.
import torch.nn.functional as F
from torch import nn

kl = nn.KLDivLoss(reduction="batchmean")


def distillation(student_logits, teacher_logits, T):
    soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1),
                    reduction="batchmean")
    return soft * T * T + kl(F.log_softmax(student_logits, dim=1), F.softmax(teacher_logits, dim=1))
